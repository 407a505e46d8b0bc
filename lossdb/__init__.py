"""lossdb: a DuckDB store for finding where a token-classification model fails and
where its dataset's labels are wrong.

    import lossdb
    store = lossdb.connect("lossdb.duckdb")
    store.top(3)

Every `lossdb` command is a Store method; scoring lives in lossdb.ingest (it imports torch
lazily), the questions in lossdb.queries, every error type in lossdb.errors.
"""
from lossdb.errors import LossdbError
from lossdb.store import Store, connect, upgrade
from lossdb.version import __version__

__all__ = ["connect", "upgrade", "Store", "LossdbError", "__version__"]
