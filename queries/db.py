"""Opening a store, applying its schema, and the one transaction helper for writes.

Every reader opens the file read-only; only ingest (and explicit --write SQL)
opens it for writing. DuckDB errors that a user can act on become StoreErrors.
"""
from __future__ import annotations

import hashlib
import os
import re
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import duckdb

from lossdb import sql
from lossdb.errors import StoreError, first_line

DEFAULT_DB = "lossdb.duckdb"


def default_path() -> str:
    """`$LOSSDB_DB`, else ./lossdb.duckdb."""
    return os.environ.get("LOSSDB_DB") or DEFAULT_DB


def connect(
    path: str | os.PathLike | None = None,
    *,
    read_only: bool = True,
    lock_wait: float = 0.0,
    on_wait: Callable[[str], None] | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open the store at `path`; readers never create a file, writers create it with its schema.

    `lock_wait`: seconds to keep retrying while another process holds the file (0: fail at
    once); `on_wait` is told once, with the reason, when the first try finds it busy.
    """
    db = Path(path or default_path())
    if read_only and not db.exists():
        where = "" if db.parent.exists() else f" (folder {db.parent} does not exist)"
        raise StoreError(
            f"no lossdb store at {db}{where}",
            "run `lossdb ingest` first, or point --db (or $LOSSDB_DB) at an existing store",
        )
    if not read_only and not db.parent.exists():
        raise StoreError(f"folder {db.parent} does not exist", "create it, or choose another --db path")
    check_file(db)
    deadline = time.monotonic() + lock_wait
    while True:
        try:
            con = duckdb.connect(str(db), read_only=read_only)
            break
        except duckdb.Error as e:
            if not is_lock_error(e) or time.monotonic() >= deadline:
                raise _explain_open_error(db, e) from None
            if on_wait is not None:
                on_wait(_explain_open_error(db, e).message)
                on_wait = None
            time.sleep(0.2)
    try:
        _check_length(con, db)
        con.execute("SET enable_progress_bar = false")  # stderr is for lossdb's own messages
        if not read_only:
            apply_schema(con)
        elif not has_schema(con):
            raise StoreError(f"{db} is a DuckDB file but not a lossdb store", "run `lossdb ingest --db` on it to make one")
        elif not _schema_is_current(con):
            raise StoreError(f"{db} was written by another version of lossdb (its views and macros differ)",
                             f"run `lossdb upgrade --db {db}` once to refresh them (rows are kept)")
    except duckdb.Error as e:  # DuckDB reads blocks lazily: a truncated file fails here, not at open
        con.close()
        damaged = damage_error(e, db)
        if damaged is None:
            raise
        raise damaged from None
    except BaseException:
        con.close()
        raise
    return con


def check_file(db: Path) -> None:
    """Refuse a folder, or an existing file that is not a DuckDB database, before DuckDB sees it.

    DuckDB itself would try to load an extension for some foreign files (SQLite), or report
    a corrupt header; the magic bytes ('DUCK' at offset 8) say it plainly.
    """
    if db.is_dir():
        raise StoreError(f"{db} is a folder, not a DuckDB file", "point --db at a .duckdb file")
    if not db.exists():
        return
    try:
        with db.open("rb") as f:
            header = f.read(16)
    except OSError as e:
        raise StoreError(f"cannot read {db}: {e.strerror}", "check the path and its permissions") from None
    if len(header) < 12 or header[8:12] != b"DUCK":
        if header.startswith(b"SQLite format"):
            what = "a SQLite database, not a DuckDB one"
        elif not header:
            what = "an empty file, not a DuckDB database"
        else:
            what = "not a DuckDB database"
        raise StoreError(f"{db} is {what}", "point --db at a lossdb store, or at a new file name")


# DuckDB's file: a main header and two database headers of 4 KiB each, then the blocks.
HEADER_BYTES = 3 * 4096


def _check_length(con: duckdb.DuckDBPyConnection, db: Path) -> None:
    """Refuse a store file too short to hold the blocks its header says are in use (cut short
    by a full disk or a copy that stopped): DuckDB reads blocks lazily, so it would fail only
    at some later query (which `damage_error` then names)."""
    blocks, block_size = con.execute(sql.read("store_size")).fetchone()
    if db.stat().st_size < HEADER_BYTES + blocks * block_size:
        raise damaged_store(db)


def is_lock_error(error: duckdb.Error) -> bool:
    return re.search(r"\block\b", str(error).lower()) is not None  # the word: a damaged "block" is not busy


# What DuckDB says when a store file is shorter than its own header says (truncated by a full
# disk, an interrupted copy) or its blocks fail their checksums.
_DAMAGE = re.compile(r'Could not read enough bytes from file "(?P<path>[^"]*)"|Corrupt database file|checksum', re.I)


def damage_error(error: BaseException, db: str | os.PathLike | None = None) -> StoreError | None:
    """The StoreError for a damaged store file if `error` is DuckDB finding one, else None."""
    found = _DAMAGE.search(str(error))
    if found is None:
        return None
    return damaged_store(db or found.group("path") or "the store")


def damaged_store(where: str | os.PathLike) -> StoreError:
    return StoreError(f"the store file {where} is damaged: it is truncated or corrupt",
                      "restore it from a backup, or ingest the runs again into a new --db file")


def apply_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create or refresh the tables, views and macros (every file is safe to re-run)."""
    with transaction(con):
        for _name, statement in sql.schema_statements():
            con.execute(statement)
        fill_word_codes(con)
        con.execute(sql.read("meta_delete"), {"key": "schema"})
        con.execute(sql.read("meta_insert"), {"key": "schema", "value": schema_fingerprint()})


def fill_word_codes(con: duckdb.DuckDBPyConnection) -> None:
    """Fill sequences.label_codes / pred_codes where a store written before them lacks them
    (once; about a minute for a million sequences, so it says so)."""
    missing = con.execute(sql.read("word_codes_missing")).fetchone()[0]
    if not missing:
        return
    print(f"lossdb: filling the word tag codes of {missing:,} sequences written by an older lossdb (once) ...",
          file=sys.stderr, flush=True)
    try:
        con.execute(sql.read("backfill_word_codes"))
    except duckdb.Error as e:
        first = first_line(e)
        raise StoreError(f"cannot fill the word tag codes from the token rows: {first}",
                         "check the store with `lossdb sql \"SELECT * FROM runs\"`, or re-ingest the run") from None


def schema_fingerprint() -> str:
    """A hash of every schema file: equal fingerprints mean the same views and macros."""
    digest = hashlib.sha256()
    for name, statement in sql.schema_statements():
        digest.update(name.encode() + b"\0" + statement.encode() + b"\0")
    return digest.hexdigest()[:16]


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


def has_schema(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the file holds lossdb's core tables (runs, sequences, tokens)."""
    return con.execute(sql.read("store_check")).fetchall()[0][0] == 3


def _schema_is_current(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the store's views and macros are this lossdb's (a reader cannot refresh them)."""
    if not con.execute(sql.read("store_check")).fetchall()[0][1]:
        return False
    found = con.execute(sql.read("meta_get"), {"key": "schema"}).fetchall()
    return bool(found) and found[0][0] == schema_fingerprint()


def _explain_open_error(db: Path, error: duckdb.Error) -> StoreError:
    text = str(error)
    damaged = damage_error(error, db)
    if damaged is not None:
        return damaged
    if is_lock_error(error):
        # DuckDB: 'Conflicting lock is held in /usr/bin/python3 (PID 123)'. A process holding the
        # file read-write blocks everyone; one holding it read-only blocks writers.
        holder = re.search(r"held in (.*?) \(PID (\d+)\)", text)
        who = f"process {Path(holder.group(1)).name} (PID {holder.group(2)})" if holder else "another process"
        return StoreError(
            f"{db} is busy: {who} has it open",
            "wait for that process to finish (an ingest holds the store only while it commits), "
            "or close it (a notebook's lossdb.connect, a `lossdb sql --write`), or use another --db",
        )
    if "different configuration" in text:  # this process already has it open, read-only or read-write
        return StoreError(f"{db} is already open in this process in another mode (read-only vs read-write)",
                          "close the other connection first (Store.close(), con.close())")
    if "not a valid DuckDB database" in text or "database file" in text.lower() and "invalid" in text.lower():
        return StoreError(f"{db} is not a DuckDB database", "point --db at a lossdb store, or at a new file name")
    return StoreError(f"cannot open {db}: {first_line(error)}", "check the path and its permissions")
