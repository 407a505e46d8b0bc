"""lossdb.queries: one function per question; each runs named SQL from lossdb.sql
with bound parameters and returns a Result (`.df()` for a DataFrame)."""
from .core import RANKINGS, adhoc, check_n, resolve_run, runs, sequence_rows, top
from .result import Result

__all__ = ["Result", "RANKINGS", "adhoc", "check_n", "resolve_run", "runs", "sequence_rows", "top"]
