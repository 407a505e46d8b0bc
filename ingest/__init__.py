"""lossdb.ingest: score a labelled dataset with a model and write one row per token.

Importing this package is cheap; torch and transformers load only when `ingest()` runs.
"""
from .merge import merge
from .pipeline import IngestSummary, ingest
from .sources import Example, Source, open_source

__all__ = ["ingest", "merge", "IngestSummary", "open_source", "Source", "Example"]
