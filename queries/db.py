"""Opening a store, applying its schema, and the one transaction helper for writes.

Every reader opens the file read-only; only ingest, merge and upgrade change a store's
schema (migrations, views, macros), and only they create one. DuckDB errors that a user can
act on become StoreErrors.
"""
from __future__ import annotations

import os
import re
import threading
import time
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import duckdb

from lossdb import sql
from lossdb.errors import StoreError, first_line
from lossdb.text import counted

DEFAULT_DB = "lossdb.duckdb"


def default_path() -> str:
    """`$LOSSDB_DB`, else ./lossdb.duckdb."""
    return os.environ.get("LOSSDB_DB") or DEFAULT_DB


STORAGE_VERSION = "v1.4.0"  # DuckDB 2.0 writes v2.0.0 (version 69) by default, which 1.x clients cannot open


def connect(
    path: str | os.PathLike | None = None,
    *,
    read_only: bool = True,
    lock_wait: float = 0.0,
    on_wait: Callable[[str], None] | None = None,
    migrate: bool = False,
    create: bool = False,
    foreign_db: bool = False,
) -> duckdb.DuckDBPyConnection:
    """Open the store at `path`: read-only by default; a file that is not a lossdb store, or
    whose migrations are not this lossdb's, is refused with the fix.

    `migrate` (ingest, merge, upgrade only): apply pending migrations and refresh the views and
    macros; with `create`, a missing file is made, readable by DuckDB 1.4+ (STORAGE_VERSION);
    with `foreign_db`, lossdb's tables may be added to another application's DuckDB file (never
    over its own). Any other connection changes nothing: where the stored views and macros are
    another lossdb's, it defines this lossdb's as TEMP objects for itself.
    `lock_wait`: seconds to keep retrying while another process holds the file (0: fail at
    once); `on_wait` is told once, with the reason, when the first try finds it busy.
    """
    db = Path(path or default_path())
    creating = create and migrate and not read_only and not db.exists()
    if not db.exists() and not creating:
        where = "" if db.parent.exists() else f" (folder {db.parent} does not exist)"
        raise StoreError(
            f"no lossdb store at {db}{where}",
            "ingest into it first (lossdb.ingest.ingest), or give the path of an existing store ($LOSSDB_DB by default)",
            cli_hint="run `lossdb ingest` first, or point --db (or $LOSSDB_DB) at an existing store",
        )
    if not db.parent.exists():
        raise StoreError(f"folder {db.parent} does not exist", "create it, or choose another --db path")
    con = open_file(db, read_only=read_only, create=creating, lock_wait=lock_wait, on_wait=on_wait)
    try:
        _check_length(con, db)
        state = inspect(con)
        if migrate and not read_only:
            check_writable(db, state, foreign_db=foreign_db)
            if state.pending or state.views_stale:
                apply_schema(con, published=not creating)  # a new file is published by its writer
        else:
            check_readable(db, state)
            if state.views_stale:
                define_views_for_this_connection(con)
    except duckdb.Error as e:  # DuckDB reads blocks lazily: a truncated file fails here, not at open
        con.close()
        damaged = damage_error(e, db)
        if damaged is None:
            raise
        raise damaged from e
    except BaseException:
        con.close()
        raise
    return con


def open_file(db: Path, *, read_only: bool, create: bool = False, lock_wait: float = 0.0,
              on_wait: Callable[[str], None] | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection to the file `db`, with no judgement of what it holds; a file it
    creates is written in STORAGE_VERSION."""
    check_file(db)
    config = {"storage_compatibility_version": STORAGE_VERSION} if create else {}
    deadline = time.monotonic() + lock_wait
    while True:
        try:
            con = duckdb.connect(str(db), read_only=read_only, config=config)
            break
        except duckdb.Error as e:
            if not is_lock_error(e) or time.monotonic() >= deadline:
                raise _explain_open_error(db, e, read_only=read_only) from e
            if on_wait is not None:
                on_wait(_explain_open_error(db, e).message)
                on_wait = None
            time.sleep(0.2)
    con.execute("SET enable_progress_bar = false")  # stderr is for lossdb's own messages
    with _open_lock:
        _open_connections.add(con)
    return con


# Every connection open_file made, for interrupt_queries(); weak, so a closed and dropped one goes.
_open_connections: weakref.WeakSet = weakref.WeakSet()
_open_lock = threading.Lock()


def interrupt_queries() -> None:
    """Stop the query running on every store connection of this process, from any thread.
    DuckDB notices Ctrl-C only when the main thread polls for it between tasks of the query, and
    a query whose one task a worker thread took runs to its end; this stops it at once. A
    connection with no query running is unaffected: the next query runs as usual."""
    with _open_lock:
        connections = list(_open_connections)
    for con in connections:
        try:
            con.interrupt()
        except duckdb.Error:  # closed meanwhile
            pass


@dataclass
class StoreState:
    """What a file holds, as far as lossdb is concerned."""

    objects: dict[str, str]  # lower-case name -> 'table', 'view' or 'macro'
    applied: list[int]  # migration versions the store records (none before they were recorded)
    fingerprint: str | None  # of the views and macros stored (lossdb_meta 'schema')

    @property
    def kind(self) -> str:
        """'empty' (a new file), 'lossdb' (a store) or 'foreign' (another application's tables)."""
        if not self.objects:
            return "empty"
        if "lossdb_migrations" in self.objects or {"lossdb_meta", "runs", "sequences", "tokens"} <= self.objects.keys():
            return "lossdb"  # lossdb 0.1.0 wrote lossdb_meta beside the core tables, before migrations
        return "foreign"

    @property
    def pending(self) -> list[sql.Migration]:
        return [m for m in sql.migrations() if m.version not in self.applied]

    @property
    def unknown(self) -> list[int]:
        """Migrations of a newer lossdb."""
        known = {m.version for m in sql.migrations()}
        return [v for v in self.applied if v not in known]

    @property
    def views_stale(self) -> bool:
        """The stored views and macros are not this lossdb's: another fingerprint, or one of
        them dropped since (by hand, through `sql --write`)."""
        return self.fingerprint != sql.schema_fingerprint() or not sql.schema_names() <= self.objects.keys()


def inspect(con: duckdb.DuckDBPyConnection) -> StoreState:
    """The file's tables, views and macros, its recorded migrations and its views' fingerprint."""
    objects = {r[0]: r[1] for r in con.execute(sql.read("store_objects")).fetchall()}
    applied = ([r[0] for r in con.execute(sql.read("migrations_applied")).fetchall()]
               if objects.get("lossdb_migrations") == "table" else [])
    found = (con.execute(sql.read("meta_get"), {"key": "schema"}).fetchall()
             if objects.get("lossdb_meta") == "table" else [])
    return StoreState(objects, applied, found[0][0] if found else None)


def check_readable(db: Path, state: StoreState) -> None:
    """Refuse a file a reader cannot use: not a store, or migrations pending or unknown."""
    if state.kind == "empty":
        raise StoreError(f"{db} is an empty DuckDB file, not a lossdb store", f"run `lossdb ingest --db {db}` to make one")
    if state.kind == "foreign":
        raise StoreError(f"{db} is a DuckDB file but not a lossdb store (it holds {_listing(state.objects)})",
                         "point --db at a store that `lossdb ingest` wrote")
    _check_not_newer(db, state)
    if state.pending:
        names = ", ".join(f"{m.version:04d} {m.name}" for m in state.pending)
        raise StoreError(f"{db} was written by an older lossdb (migrations pending: {names})",
                         f"run `lossdb upgrade --db {db}` once (rows are kept; nothing is re-scored)")


def check_writable(db: Path, state: StoreState, *, foreign_db: bool = False) -> None:
    """Refuse to write lossdb's schema where it does not belong: into another application's
    file unless `foreign_db`, and never over that file's own tables, views or macros."""
    if state.kind == "foreign":
        if not foreign_db:
            raise StoreError(f"{db} is another application's DuckDB file (it holds {_listing(state.objects)}), "
                             "not a lossdb store",
                             "choose a new store file, or pass foreign_db=True to add lossdb's tables beside its own",
                             cli_hint="choose a new --db file, or pass --foreign-db to add lossdb's tables beside "
                                      "its own")
        taken = sorted(set(state.objects) & sql.created_names())
        if taken:
            raise StoreError(f"cannot add lossdb's tables to {db}: it has its own "
                             + ", ".join(f"{name} ({state.objects[name]})" for name in taken),
                             "choose a new --db file; lossdb never writes over another application's tables")
    _check_not_newer(db, state)


def _check_not_newer(db: Path, state: StoreState) -> None:
    if state.unknown:
        raise StoreError(f"{db} was written by a newer lossdb (it records migration{'s' if len(state.unknown) > 1 else ''} "
                         f"{', '.join(f'{v:04d}' for v in state.unknown)}, which this lossdb does not know)",
                         "upgrade lossdb (pip install -U lossdb) to read it")


def _listing(objects: dict[str, str], limit: int = 5) -> str:
    names = list(objects)
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


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
        raise StoreError(f"cannot read {db}: {e.strerror}", "check the path and its permissions") from e
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


def apply_schema(con: duckdb.DuckDBPyConnection, *, published: bool = True) -> list[str]:
    """Apply every pending migration and refresh the views and macros, in one transaction
    (`published` as transaction's); returns what was done, one line each (empty when the store
    was up to date)."""
    from lossdb.version import __version__

    done = []
    if inspect(con).pending:
        _macros_for_migrations(con)
    with transaction(con, published=published):
        con.execute(sql.read("migrations_create"))
        state = inspect(con)
        for migration in state.pending:
            con.execute(migration.text)
            line = f"migration {migration.version:04d} {migration.name}"
            step = PYTHON_STEPS.get(migration.version)
            if step is not None:
                detail = step(con)
                line += f" ({detail})" if detail else ""
            con.execute(sql.read("migration_record"),
                        {"version": migration.version, "name": migration.name, "lossdb_version": __version__})
            done.append(line)
        if state.objects.get("lossdb_meta") != "table":  # dropped by hand: it holds only the fingerprint below
            con.execute(sql.read("meta_create"))
            done.append("restored the table lossdb_meta")
        if state.views_stale:
            for _name, statement in sql.schema_statements():
                con.execute(statement)
            con.execute(sql.read("meta_delete"), {"key": "schema"})
            con.execute(sql.read("meta_insert"), {"key": "schema", "value": sql.schema_fingerprint()})
            done.append(f"refreshed {len(sql.schema_statements())} views and macros")
    return done


def upgrade(path: str | os.PathLike | None = None) -> list[str]:
    """Bring the store at `path` to this lossdb: pending migrations, the views and macros, and
    (for a file in a storage version newer than STORAGE_VERSION, as lossdb 0.1.0 wrote them) a
    rewrite that DuckDB 1.4+ clients can open. Never re-scores. Returns what it did, one line
    each; empty when there was nothing to do.

    The original file is not changed until the end: a rewrite builds the new file beside it
    (the migrations in one transaction there) and replaces the original in one rename, while
    this connection still holds the original's lock, so no writer slips in between."""
    db = Path(path or default_path())
    if not db.exists():
        raise StoreError(f"no lossdb store at {db}", "give the path of an existing store ($LOSSDB_DB by default)",
                         cli_hint="point --db (or $LOSSDB_DB) at an existing store")
    con = open_file(db, read_only=False)
    try:
        state = inspect(con)
        if state.kind != "lossdb":
            check_readable(db, state)  # says what the file is instead
        _check_not_newer(db, state)
        if not storage_is_newer(con):
            return apply_schema(con)
        remove_stale_siblings(db, "upgrade")
        fresh = sibling(db, "upgrade")
        original = _current_database(con)
        try:
            con.execute(sql.read("upgrade_attach"), {"path": str(fresh), "storage_version": STORAGE_VERSION})
            con.execute(f"COPY FROM DATABASE {_identifier(original)} TO lossdb_upgrade")
            con.execute("USE lossdb_upgrade")
            done = apply_schema(con, published=False)
            con.execute(f"USE {_identifier(original)}")
            con.execute("DETACH lossdb_upgrade")
            os.replace(fresh, db)
            note_saved()
        except BaseException:
            remove_store_file(fresh)
            raise
        return [*done, f"rewrote the file in DuckDB storage version {STORAGE_VERSION} (readable by DuckDB 1.4 and later)"]
    finally:
        con.close()


def storage_is_newer(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the file's storage version is newer than STORAGE_VERSION (1.x clients cannot open it)."""
    found = con.execute(sql.read("storage_version")).fetchone()[0] or ""
    numbers = tuple(int(n) for n in re.findall(r"\d+", found)[:3])
    return numbers > tuple(int(n) for n in re.findall(r"\d+", STORAGE_VERSION))


def _current_database(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute(sql.read("current_database_name")).fetchone()[0]


def _identifier(name: str) -> str:
    """A database name as a quoted SQL identifier (names cannot be bound as parameters)."""
    return '"' + name.replace('"', '""') + '"'


def sibling(db: Path, purpose: str) -> Path:
    """A private file beside `db` for this process (same folder: a rename publishes it atomically)."""
    return db.with_name(f".{db.name}.lossdb-{purpose}-{os.getpid()}")


def remove_stale_siblings(db: Path, purpose: str) -> None:
    """Delete the private files beside `db` that processes now gone left behind (killed mid-way)."""
    for file in db.parent.glob(f".{db.name}.lossdb-{purpose}-*"):
        pid = file.name.rsplit("-", 1)[-1].removesuffix(".wal")
        if pid.isdigit() and not process_alive(int(pid)):
            file.unlink(missing_ok=True)


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def remove_store_file(path: Path) -> None:
    """Delete a DuckDB file and its write-ahead log."""
    for file in (path, path.with_name(path.name + ".wal")):
        file.unlink(missing_ok=True)


def _macros_for_migrations(con: duckdb.DuckDBPyConnection) -> None:
    """This lossdb's macros as TEMP objects, before the migrations run: a migration may fill
    columns with them (0004 does, with label_type and type_probs). Each is tried on its own,
    outside the migrations' transaction: one that reads a view the store does not have yet
    cannot be made now, and no migration needs it."""
    for statement in sql.temporary_schema_statements():
        if statement.startswith("CREATE OR REPLACE TEMP MACRO"):
            try:
                con.execute(statement)
            except duckdb.Error:
                pass


def define_views_for_this_connection(con: duckdb.DuckDBPyConnection) -> None:
    """This lossdb's views and macros as TEMP objects (they shadow the stored ones for this
    connection only): a reader of a store another lossdb refreshed reads it as this one expects,
    and neither blocks nor changes the file."""
    for statement in sql.temporary_schema_statements():
        con.execute(statement)


def fill_word_codes(con: duckdb.DuckDBPyConnection) -> str:
    """Fill sequences.label_codes / pred_codes where a store written before them lacks them
    (migration 0002's Python step; about a minute for a million sequences)."""
    missing = con.execute(sql.read("word_codes_missing")).fetchone()[0]
    if not missing:
        return ""
    try:
        con.execute(sql.read("backfill_word_codes"))
    except duckdb.Error as e:
        first = first_line(e)
        raise StoreError(f"cannot fill the word tag codes from the token rows: {first}",
                         "check the store with `lossdb sql \"SELECT * FROM runs\"`, or re-ingest the run") from e
    return f"filled the word tag codes of {counted(missing, 'sequence')}"


def score_run(con: duckdb.DuckDBPyConnection, run: str) -> None:
    """Store the default label-issue score (label_quality, rank_mean) of every sequence of `run`,
    and the posterior_softmin it ranks, under gold and under each of its label versions (inside
    the caller's transaction). It weighs the whole run, so it runs once the run's rows are all
    in: at ingest's commit, after a merge, and when migration 0007 fills an older store."""
    con.execute(sql.read("refresh_posterior_softmin"), {"run": run})
    con.execute(sql.read("refresh_label_quality"), {"run": run})
    for (version,) in con.execute(sql.read("run_versions"), {"run": run}).fetchall():
        score_version(con, run, version)


def score_version(con: duckdb.DuckDBPyConnection, run: str, version: str) -> None:
    """Store the default score of every sequence of `run` under label `version` (version_quality),
    replacing what was stored: after import-labels writes the version, and from score_run."""
    params = {"run": run, "version": version}
    con.execute(sql.read("delete_version_quality"), params)
    con.execute(sql.read("refresh_version_quality"), params)
    con.execute(sql.read("refresh_version_rank"), params)


def score_runs(con: duckdb.DuckDBPyConnection) -> str:
    """score_run for every run of the store (migration 0007's Python step). The scores are this
    lossdb's macros (label_scores ranks them), which read columns the migrations just added: they
    are defined here, for this connection, once the tables are whole; a later migration that
    changes what they read moves this step to its own number, as 0007 did from 0006."""
    runs = [r[0] for r in con.execute(sql.read("run_ids")).fetchall()]
    if not runs:
        return ""
    define_views_for_this_connection(con)
    for run in runs:
        score_run(con, run)
    return f"rescored the label quality of {len(runs):,} run{'' if len(runs) == 1 else 's'}"


# Python steps of migrations, by version: run right after the migration's SQL, in its transaction,
# only where SQL alone cannot do the job; each returns a line for `lossdb upgrade` to show (or '').
PYTHON_STEPS: dict[int, Callable[[duckdb.DuckDBPyConnection], str]] = {2: fill_word_codes, 7: score_runs}


def schema_fingerprint() -> str:
    """The fingerprint of this lossdb's views and macros (comments aside)."""
    return sql.schema_fingerprint()


def schema_version() -> str:
    """This lossdb's schema in words: its last migration and its views' fingerprint."""
    last = sql.migrations()[-1]
    return f"migration {last.version:04d} {last.name}, views {sql.schema_fingerprint()}"


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection, *, published: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN; COMMIT if the block succeeds, ROLLBACK on any exception (KeyboardInterrupt too).
    `published`: the COMMIT changes a store the user sees (saved_changes counts it); False for a
    file built beside it, whose publishing (a link, a rename) is counted instead."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except duckdb.InterruptException:  # Ctrl-C's interrupt_queries() said so at the end of it: done
            pass
        except duckdb.ConnectionException:  # closed under it (Ctrl-C as the block began): closing rolled back
            pass
        raise
    con.execute("COMMIT")
    if published:
        note_saved()


# How many changes this process has made to stores: the CLI reads it before and after a command
# that Ctrl-C stopped, to say whether it stopped before or after its change was saved.
_saved = [0]


def note_saved() -> None:
    _saved[0] += 1


def saved_changes() -> int:
    return _saved[0]


def _explain_open_error(db: Path, error: duckdb.Error, *, read_only: bool = True) -> StoreError:
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
    if "permission denied" in text.lower() and not read_only:
        return StoreError(f"cannot write {db}: permission denied, and this command changes the store",
                          "get write access to the file and its folder (DuckDB writes a .wal file beside it), "
                          "or work on a copy")
    return StoreError(f"cannot open {db}: {first_line(error)}", "check the path and its permissions")
