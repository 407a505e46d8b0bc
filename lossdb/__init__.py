"""lossdb: a DuckDB store for finding where a token-classification model fails and
where its dataset's labels are wrong.

    import lossdb
    store = lossdb.connect("lossdb.duckdb")
    store.top(3)

Scoring lives in lossdb.ingest (it imports torch lazily); the questions in lossdb.queries.
"""
__version__ = "0.1.0"

from lossdb.errors import LossdbError  # noqa: E402
from lossdb.store import Store, connect  # noqa: E402

__all__ = ["connect", "Store", "LossdbError", "__version__"]
