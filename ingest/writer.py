"""Writing a run: stage its rows in Parquet while scoring, then commit them in one transaction.

Scoring takes minutes; committing takes seconds. Staging outside the store keeps the
store free for readers while the model runs, and the single transaction at the end
makes a run all-or-nothing: a crash or SIGKILL before COMMIT leaves the store exactly
as it was (DuckDB rolls the unfinished transaction back when the file is next opened).
"""
from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from lossdb import sql
from lossdb.errors import InputError, StoreError, UsageError
from lossdb.queries import db as store_db
from lossdb.text import counted

from . import replace as replacing

STAGING_PREFIX = "lossdb-ingest-"
# How long a commit waits for another process (a reader, another ingest) to let go of the store.
LOCK_WAIT_SECONDS = float(os.environ.get("LOSSDB_LOCK_WAIT", "120"))

# Every table that holds rows of a run; replacing a run clears them all.
RUN_TABLES = ("tokens", "sequences", "sequence_labels", "label_versions", "version_quality", "runs")


TOKEN_SCHEMA = pa.schema([
    ("seq_id", pa.int64()), ("position", pa.int32()), ("token", pa.string()), ("token_id", pa.int32()),
    ("word_index", pa.int32()), ("label_id", pa.int16()), ("pred_id", pa.int16()),
    ("loss", pa.float32()), ("probs", pa.list_(pa.float32())),
])
SEQUENCE_SCHEMA = pa.schema([
    ("seq_id", pa.int64()), ("source_id", pa.string()), ("words_hash", pa.string()),
    ("words", pa.list_(pa.string())), ("labels", pa.list_(pa.string())),
    ("n_tokens", pa.int32()), ("n_windows", pa.int32()), ("truncated", pa.bool_()),
    ("label_codes", pa.list_(pa.uint16())), ("pred_codes", pa.list_(pa.uint16())),
])


@dataclass
class ScoredSequence:
    seq_id: int
    source_id: str | None
    words_hash: str
    words: list[str]
    labels: list[str]
    tokens: list[str]
    token_ids: np.ndarray
    word_index: np.ndarray  # -1 for special tokens
    label_ids: np.ndarray  # -100 where ignored
    log_probs: np.ndarray  # [tokens, labels] float32
    n_windows: int
    truncated: bool


class StagedRun:
    """Parquet files in a private temporary folder, appended to one chunk at a time."""

    def __init__(self, tmp_dir: str | None = None) -> None:
        remove_stale_staging(tmp_dir)
        self.folder = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=tmp_dir))
        try:  # an interrupt (Ctrl-C, SIGTERM) while this is half made leaves no folder behind
            (self.folder / "pid").write_text(str(os.getpid()))
            self.tokens_path = self.folder / "tokens.parquet"
            self.sequences_path = self.folder / "sequences.parquet"
            self._tokens = pq.ParquetWriter(self.tokens_path, TOKEN_SCHEMA, compression="snappy")
            self._sequences = pq.ParquetWriter(self.sequences_path, SEQUENCE_SCHEMA, compression="snappy")
        except BaseException:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise
        self.n_sequences = self.n_tokens = self.n_windowed = self.n_truncated = 0

    def add(self, scored: list[ScoredSequence]) -> None:
        if not scored:
            return
        self._tokens.write_table(_token_table(scored))
        self._sequences.write_table(_sequence_table(scored))
        self.n_sequences += len(scored)
        self.n_tokens += sum(len(s.tokens) for s in scored)
        self.n_windowed += sum(s.n_windows > 1 for s in scored)
        self.n_truncated += sum(s.truncated for s in scored)

    def close(self) -> None:
        self._tokens.close()
        self._sequences.close()

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def staging_folders(tmp_dir: str | None = None):
    """(folder, pid of the ingest that owns it) for every staging folder with a pid file; one
    without (or still being created) is not ours to judge."""
    for folder in Path(tmp_dir or tempfile.gettempdir()).glob(f"{STAGING_PREFIX}*"):
        try:
            yield folder, int((folder / "pid").read_text())
        except (OSError, ValueError):
            continue


def staging_folder(pid: int) -> Path | None:
    """The staging folder of the ingest running as `pid`, if it has made one."""
    return next((folder for folder, owner in staging_folders() if owner == pid), None)


def remove_stale_staging(tmp_dir: str | None = None) -> None:
    """Delete staging folders left by ingests that were killed (their process is gone)."""
    for folder, pid in staging_folders(tmp_dir):
        if not store_db.process_alive(pid):
            shutil.rmtree(folder, ignore_errors=True)


def _token_table(scored: list[ScoredSequence]) -> pa.Table:
    log_probs = np.concatenate([s.log_probs for s in scored])
    label_ids = np.concatenate([s.label_ids for s in scored])
    labelled = label_ids >= 0
    loss = np.zeros(len(label_ids), dtype=np.float32)
    loss[labelled] = -log_probs[labelled, label_ids[labelled]]
    n_labels = log_probs.shape[1]
    probs = np.exp(log_probs, dtype=np.float32).reshape(-1)
    offsets = np.arange(0, len(probs) + 1, n_labels, dtype=np.int32)
    word_index = np.concatenate([s.word_index for s in scored])
    return pa.table({
        "seq_id": np.concatenate([np.full(len(s.tokens), s.seq_id, dtype=np.int64) for s in scored]),
        "position": np.concatenate([np.arange(len(s.tokens), dtype=np.int32) for s in scored]),
        "token": pa.array([t for s in scored for t in s.tokens], type=pa.string()),
        "token_id": np.concatenate([s.token_ids for s in scored]).astype(np.int32),
        "word_index": pa.array(word_index, mask=word_index < 0, type=pa.int32()),
        "label_id": np.where(labelled, label_ids, -1).astype(np.int16),
        "pred_id": log_probs.argmax(axis=1).astype(np.int16),
        "loss": loss,
        "probs": pa.ListArray.from_arrays(pa.array(offsets), pa.array(probs)),
    }, schema=TOKEN_SCHEMA)


def _sequence_table(scored: list[ScoredSequence]) -> pa.Table:
    label_codes, pred_codes = word_codes(scored)
    return pa.table({
        "seq_id": [s.seq_id for s in scored],
        "source_id": [s.source_id for s in scored],
        "words_hash": [s.words_hash for s in scored],
        "words": [s.words for s in scored],
        "labels": [s.labels for s in scored],
        "n_tokens": [len(s.tokens) for s in scored],
        "n_windows": [s.n_windows for s in scored],
        "truncated": [s.truncated for s in scored],
        "label_codes": label_codes,
        "pred_codes": pred_codes,
    }, schema=SEQUENCE_SCHEMA)


def word_codes(scored: list[ScoredSequence]) -> tuple[pa.ListArray, pa.ListArray]:
    """Per sequence, per word: the 1-based label_names position of its gold label and of the
    prediction for its first subword (the token that carries its label); 0 where the word was
    not scored. Vectorised over the chunk: a loop per sequence costs as much as the commit."""
    n_words = np.array([len(s.words) for s in scored], dtype=np.int64)
    word_offsets = np.zeros(len(scored) + 1, dtype=np.int32)
    np.cumsum(n_words, out=word_offsets[1:])
    label_ids = np.concatenate([s.label_ids for s in scored])
    labelled = label_ids >= 0
    token_seq = np.repeat(np.arange(len(scored)), [len(s.tokens) for s in scored])[labelled]
    word = word_offsets[token_seq] + np.concatenate([s.word_index for s in scored])[labelled]
    preds = np.concatenate([s.log_probs for s in scored])[labelled].argmax(axis=1)
    label_codes = np.zeros(word_offsets[-1], dtype=np.uint16)
    pred_codes = np.zeros(word_offsets[-1], dtype=np.uint16)
    label_codes[word] = label_ids[labelled] + 1
    pred_codes[word] = preds + 1
    offsets = pa.array(word_offsets)
    return (pa.ListArray.from_arrays(offsets, pa.array(label_codes)),
            pa.ListArray.from_arrays(offsets, pa.array(pred_codes)))


def check_run_text(run: str) -> str:
    """A run name that is there: not empty, not only spaces. Anything else is kept exactly
    (quotes, any script, spaces at the ends; control characters are escaped where shown)."""
    if not isinstance(run, str) or not run.strip():
        raise UsageError(f"the run name {run!r} is blank", "give it a name, e.g. --run panx-validation",
                         parameter="run")
    return run


def check_run_name(con, run: str, *, replace: bool, label_versions: str | None = None,
                   versions_hint: str | None = None, exists_hint: str = "choose another --run name, or pass --replace"
                   ) -> replacing.Replaced:
    """Refuse to overwrite a complete run unless replace, or one with label versions unless
    `label_versions` says what becomes of them (lossdb.ingest.replace); an unfinished run is
    always replaced. Returns what replacing will do."""
    row = con.execute(sql.read("run_status"), {"run": run}).fetchone()
    if row and row[0] == "complete" and not replace:
        raise StoreError(f"run {run!r} already exists in this store", exists_hint)
    if not row or row[0] != "complete":
        return replacing.Replaced()
    found = replacing.check(con, run, label_versions, hint=versions_hint)
    return replacing.Replaced(True, found, kept=bool(found) and label_versions == "keep")


def delete_run(con, run: str, *, keep_versions: bool = False) -> None:
    """Remove every row of `run` from every table, its label versions too unless `keep_versions`
    (inside the caller's transaction)."""
    for table in replacing.tables_to_clear(RUN_TABLES, keep_versions):
        con.execute(sql.read(f"delete_run_{table}"), {"run": run})


def _step_taken(group: str, step, holder: str) -> StoreError:
    return StoreError(f"group {group!r} already has a run at step {step}, {holder!r}",
                      f"give this run another step, or replace that run: ingest as run={holder!r} with replace=True",
                      cli_hint=f"give this run another --step, or replace that run: ingest with --run {shlex.quote(holder)} "
                               "--replace")


def check_group_early(con, run: str, group: str, step: int | None, n_sequences: int | None,
                      label_names: list[str] | None, *, whole: bool, digest: bool = False) -> None:
    """What check_group can tell before the model runs (so a refusal costs no scoring): a step
    the group holds, the model's other `label_names` (where its config tells them) and, for
    `whole` data, another number of sequences than the group's reference run, or (`digest`: the
    data's digest registered as lossdb_incoming) other sequences or other gold labels."""
    holder, reference, n_reference, reference_labels = con.execute(
        sql.read("group_precheck"), {"run": run, "group": group, "step": step}).fetchone()
    if holder is not None:
        raise _step_taken(group, step, holder)
    if reference is None:
        return
    if label_names is not None:
        _check_same_labels(run, reference, group, reference_labels, label_names)
    if not whole:
        _check_shard_joins_shards(con, run, group, reference)
        return
    if n_sequences is not None and n_sequences != n_reference:
        raise InputError(
            f"run {run!r} would have {counted(n_sequences, 'sequence')} and run {reference!r} of group {group!r} has "
            f"{n_reference:,}, so they cannot cover the same sequences",
            "score the same data (same order, same words) for every run of a group, or use another group")
    if not digest:
        return
    found = con.execute(sql.read("group_precheck_sequences"), {"reference": reference}).fetchone()
    _check_same_sequences(run, reference, group, *found, whole=True)


def check_group(con, run: dict, *, whole: bool = True) -> None:
    """Refuse a run of a group (inside the commit's transaction, after its sequences are
    written) that would not line up with the group's other runs: another step's label names,
    a step the group already holds, or (`whole`: not a shard) other sequences."""
    group, step = run["group"], run.get("step")
    found = con.execute(sql.read("group_check"), {"run": run["run"], "group": group, "step": step}).fetchone()
    reference, label_names, n_only_here, n_only_there, first_seq_id, n_relabelled, first_relabelled, holder = found
    if holder is not None:
        raise _step_taken(group, step, holder)
    if reference is None:
        return
    _check_same_labels(run["run"], reference, group, label_names, run["label_names"])
    if not whole:
        _check_shard_joins_shards(con, run["run"], group, reference)
    _check_same_sequences(run["run"], reference, group, n_only_here, n_only_there, first_seq_id, n_relabelled,
                          first_relabelled, whole=whole)


def _check_shard_joins_shards(con, run: str, group: str, reference: str) -> None:
    """A shard of a group joins the shards of its store (to be merged), never whole runs: in a
    store of whole runs it would be a group step over part of the sequences."""
    if not con.execute(sql.read("run_is_shard"), {"run": reference}).fetchone()[0]:
        raise InputError(f"run {run!r} is a shard (--shard), and run {reference!r} of group {group!r} in this store "
                         "covers the whole data", "score every shard into a store of its own and `lossdb merge` "
                         "them into this one, or score the whole data")


def _check_same_labels(run: str, reference: str, group: str, reference_labels, label_names) -> None:
    if list(reference_labels) != list(label_names):
        raise InputError(f"run {run!r} has other labels than run {reference!r} of group {group!r}",
                         "score every run of a group with models of the same label set")


def _check_same_sequences(run: str, reference: str, group: str, n_only_here: int, n_only_there: int,
                          first_seq_id: int | None, n_relabelled: int, first_relabelled: int | None, *,
                          whole: bool) -> None:
    if whole and (n_only_here or n_only_there):
        raise InputError(
            f"run {run!r} does not cover the same sequences as run {reference!r} of group {group!r} "
            f"({n_only_here} only in this run, {n_only_there} only in {reference!r}; first seq_id {first_seq_id})",
            "score the same data (same order, same words) for every run of a group, or use another group")
    if n_relabelled:
        raise InputError(
            f"run {run!r} gives {counted(n_relabelled, 'sequence')} other gold labels "
            f"than run {reference!r} of group {group!r} (first seq_id {first_relabelled}), and a group's dynamics "
            "judge every step against the same labels",
            "score the same labelled file as the group's other runs (import other labels as a label version), "
            "or use another group")


def check_kept_early(con, run: str) -> None:
    """Before the model runs: refuse keeping the label versions of `run` (replaced) when the data
    about to be scored (registered as lossdb_incoming) lacks one of its sequences or changes one's
    words or gold labels, as replacing.check_kept would after the scoring."""
    kept = replacing.versions(con, run)
    if kept:
        replacing.refuse_changed(run, kept, con.execute(sql.read("replace_precheck"), {"run": run}).fetchone())


@dataclass
class RepeatedIds:
    """Source ids that several sequences of a run carry: annotate and import-labels cannot tell
    those sequences apart by id."""

    n_sequences: int = 0  # how many sequences carry a repeated id
    examples: list[tuple[str, int]] = field(default_factory=list)  # (id, how many), most repeated first

    def line(self) -> str:
        if not self.n_sequences:
            return ""
        shown = ", ".join(f"{i!r} x{n}" for i, n in self.examples)
        return (f"; note: {self.n_sequences:,} sequences share their source id ({shown}), so match those by seq_id "
                "when you annotate or import labels")


@dataclass
class Committed:
    replaced: replacing.Replaced  # what became of an earlier run of the name (and its label versions)
    repeated: RepeatedIds


def commit(db_path: str, staged: StagedRun, run: dict, *, replace: bool, label_versions: str | None = None,
           foreign_db: bool = False) -> Committed:
    """Move a staged run into the store atomically: every row of it, or nothing."""
    staged.close()

    replaced = replacing.Replaced()
    repeated = RepeatedIds()

    def write(con) -> None:
        nonlocal replaced, repeated
        con.execute(sql.read("commit_memory_limit"))
        replaced = check_run_name(con, run["run"], replace=replace, label_versions=label_versions)
        if replaced.kept:
            replacing.hold(con, run["run"])
        delete_run(con, run["run"], keep_versions=replaced.kept)
        _fault("commit-deleted")
        con.execute(sql.read("commit_tokens"), {
            "run": run["run"], "labels": run["label_names"], "path": str(staged.tokens_path)})
        _fault("commit-tokens")
        con.execute(sql.read("commit_sequences"), {
            "run": run["run"], "tokens_path": str(staged.tokens_path),
            "sequences_path": str(staged.sequences_path),
            "labels": run["label_names"]})
        if run.get("group") is not None:
            check_group(con, run, whole=not run["params"].get("shard"))
        if replaced.kept:
            replacing.check_kept(con, run["run"], replaced.versions)
        con.execute(sql.read("insert_run"), {
            **run, "group": run.get("group"), "step": run.get("step"),
            "params": json.dumps(run["params"]), "n_sequences": staged.n_sequences,
            "n_tokens": staged.n_tokens, "n_windowed": staged.n_windowed, "n_truncated": staged.n_truncated,
        })
        # the default label-issue score weighs the whole run's words, so it comes last (under
        # gold and any label version the commit kept)
        store_db.score_run(con, run["run"])
        found = con.execute(sql.read("run_repeated_ids"), {"run": run["run"]}).fetchone()
        repeated = RepeatedIds(int(found[0]), [(e["id"], e["n"]) for e in found[1] or []])
        _fault("commit-before")

    write_store(db_path, write, foreign_db=foreign_db, lock_wait=LOCK_WAIT_SECONDS, on_wait=_tell_waiting)
    _fault("commit-after")
    return Committed(replaced, repeated)


def write_store(db_path: str | os.PathLike, write, *, foreign_db: bool = False, lock_wait: float = 0.0,
                on_wait=None) -> None:
    """Run `write(con)` in one transaction on the store at `db_path` (migrated first), creating it
    if it does not exist. Used by every command that may create a store (ingest, merge).

    A new store is never made in place: it is built whole in a private file beside the target
    and published with a link that fails if the target appeared meanwhile. So a failed or
    killed first write leaves no store behind, and of two writers racing to create the same
    store neither can delete what the other wrote: the loser finds the store and writes into
    it like any other (where its run name is taken, it is refused and deletes nothing).
    """
    path = Path(db_path)
    if not path.exists():
        if not path.parent.exists():
            raise StoreError(f"folder {path.parent} does not exist", "create it, or choose another --db path")
        store_db.remove_stale_siblings(path, "new")
        fresh = store_db.sibling(path, "new")
        try:
            con = store_db.connect(fresh, read_only=False, migrate=True, create=True)
            try:
                with store_db.transaction(con, published=False):
                    write(con)
                con.execute("CHECKPOINT")  # the whole store in the one file that is published
            finally:
                con.close()
            if _publish(fresh, path):
                store_db.note_saved()
                return
        finally:
            store_db.remove_store_file(fresh)
    con = store_db.connect(path, read_only=False, migrate=True, foreign_db=foreign_db, lock_wait=lock_wait,
                           on_wait=on_wait)
    try:
        with store_db.transaction(con):
            write(con)
    finally:
        con.close()


def _publish(fresh: Path, path: Path) -> bool:
    """Give the finished file `fresh` the name `path` unless a file has it already (False then)."""
    try:
        os.link(fresh, path)  # atomic, and never replaces
    except FileExistsError:
        return False
    except OSError:  # a file system without hard links: rename, checking first (a narrow race remains)
        if path.exists():
            return False
        os.rename(fresh, path)
    return True


def _tell_waiting(reason: str) -> None:
    print(f"lossdb: {reason}; waiting up to {LOCK_WAIT_SECONDS:.0f} s for it to close the store ...",
          file=sys.stderr, flush=True)


def _fault(point: str) -> None:
    """Crash-test hook: `LOSSDB_FAULT=<point>` makes the process SIGKILL itself there, and
    `LOSSDB_FAULT=<point>:SIGINT` sends it Ctrl-C instead.

    Used by tests/test_reliability.py to kill or interrupt an ingest at exact moments of its commit.
    """
    fault = os.environ.get("LOSSDB_FAULT", "")
    if fault == point:
        os.kill(os.getpid(), signal.SIGKILL)
    elif fault == f"{point}:SIGINT":
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1)  # Python runs the handler at its next instruction: it does not get past here


def now() -> datetime:
    return datetime.now(timezone.utc)
