"""Opening a store, applying its schema, and the one transaction helper for writes.

Every reader opens the file read-only; only ingest (and explicit --write SQL)
opens it for writing. DuckDB errors that a user can act on become StoreErrors.
"""
from __future__ import annotations

import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

from lossdb import sql
from lossdb.errors import StoreError

DEFAULT_DB = "lossdb.duckdb"


def default_path() -> str:
    """`$LOSSDB_DB`, else ./lossdb.duckdb."""
    return os.environ.get("LOSSDB_DB") or DEFAULT_DB


def connect(path: str | os.PathLike | None = None, *, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """Open the store at `path`; readers never create a file, writers create it with its schema."""
    db = Path(path or default_path())
    if read_only and not db.exists():
        raise StoreError(
            f"no lossdb store at {db}",
            "run `lossdb ingest` first, or point --db (or $LOSSDB_DB) at an existing store",
        )
    if not read_only and not db.parent.exists():
        raise StoreError(f"folder {db.parent} does not exist", "create it, or choose another --db path")
    if db.exists() and db.is_dir():
        raise StoreError(f"{db} is a folder, not a DuckDB file", "point --db at a .duckdb file")
    try:
        con = duckdb.connect(str(db), read_only=read_only)
    except duckdb.Error as e:
        raise _explain_open_error(db, e) from None
    if not read_only:
        apply_schema(con)
    elif not _has_schema(con):
        con.close()
        raise StoreError(f"{db} is a DuckDB file but not a lossdb store", "run `lossdb ingest --db` on it to make one")
    return con


def apply_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create or refresh the tables, views and macros (every file is safe to re-run)."""
    with transaction(con):
        for _name, statement in sql.schema_statements():
            con.execute(statement)


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN; COMMIT if the block succeeds, ROLLBACK on any exception (KeyboardInterrupt too)."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def _has_schema(con: duckdb.DuckDBPyConnection) -> bool:
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name IN ('runs', 'sequences', 'tokens')"
    ).fetchone()[0]
    return found == 3


def _explain_open_error(db: Path, error: duckdb.Error) -> StoreError:
    text = str(error)
    if "lock" in text.lower():
        pid = re.search(r"PID (\d+)", text)
        who = f"process {pid.group(1)}" if pid else "another process"
        return StoreError(
            f"{db} is locked by {who}, which is writing to it",
            "wait for that ingest to finish (or stop it), or use another --db",
        )
    if "not a valid DuckDB database" in text or "database file" in text.lower() and "invalid" in text.lower():
        return StoreError(f"{db} is not a DuckDB database", "point --db at a lossdb store, or at a new file name")
    first_line = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    return StoreError(f"cannot open {db}: {first_line}", "check the path and its permissions")
