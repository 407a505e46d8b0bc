"""Store: the Python API over a lossdb file, for notebooks and scripts.

    >>> import lossdb
    >>> store = lossdb.connect("lossdb.duckdb")      # read-only
    >>> store.top(3)                                 # DataFrame, worst sequences first
    >>> for frame in store.samples(3):               # the book's get_samples tables
    ...     display(frame)
"""
from __future__ import annotations

import os
from typing import Iterator

from lossdb import queries
from lossdb.queries import db


class Store:
    """A connection to one store. Read-only unless opened with ``read_only=False``."""

    def __init__(self, path: str | os.PathLike | None = None, *, read_only: bool = True) -> None:
        self.path = str(path or db.default_path())
        self.read_only = read_only
        self.con = db.connect(self.path, read_only=read_only)

    # --- the core questions ------------------------------------------------------------

    def runs(self):
        """Every complete run, newest first."""
        return queries.runs(self.con).df()

    def top(self, n: int = 3, *, run: str | None = None, by: str = "total_loss"):
        """The n worst sequences: rank, run_id, seq_id, total_loss, ... and the aligned
        tokens / labels / preds / losses lists (every position, special tokens included)."""
        return queries.top(self.con, n, run=run, by=by).df()

    def samples(self, n: int = 3, *, run: str | None = None, by: str = "total_loss") -> Iterator:
        """One DataFrame per sequence, rows tokens / labels / preds / losses and one column per
        position (the first special token dropped, losses to two decimals), as the book's
        ``get_samples`` yields them."""
        import pandas as pd

        for row in queries.top(self.con, n, run=run, by=by).records():
            yield pd.DataFrame({
                "tokens": row["tokens"][1:], "labels": row["labels"][1:], "preds": row["preds"][1:],
                "losses": [f"{loss:.2f}" for loss in row["losses"][1:]],
            }).T

    def sequence(self, seq_id: int, *, run: str | None = None):
        """One sequence's ordered token rows."""
        return queries.sequence_rows(self.con, seq_id, run=run).df()

    def sql(self, text: str, params: dict | list | None = None):
        """Ad-hoc SQL (values bound from `params`) as a DataFrame."""
        return queries.adhoc(self.con, text, params).df()

    # --- lifetime ----------------------------------------------------------------------

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        mode = "read-only" if self.read_only else "read-write"
        return f"<lossdb.Store {self.path} ({mode})>"


def connect(path: str | os.PathLike | None = None, *, read_only: bool = True) -> Store:
    """Open a lossdb store (default: $LOSSDB_DB, else ./lossdb.duckdb)."""
    return Store(path, read_only=read_only)
