"""`ingest()`: score a labelled dataset with a model and commit one row per token.

read (sources) -> align subwords (align) -> length-bucketed batches through the model
(scoring) -> stage Parquet (writer) -> one transaction into the store (writer.commit).
Everything that can be checked before the model runs is checked first, and the store
is only opened for writing at the very end.
"""
from __future__ import annotations

import itertools
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import duckdb

from lossdb import sql
from lossdb.errors import InputError, StoreError, UsageError
from lossdb.queries import db as store_db
from lossdb.outfile import disk_full, is_disk_full
from lossdb.text import counted
from lossdb.version import __version__

from . import model_files, score_steps, writer
from .replace import Replaced, check_policy
from .sources import Example, Source, open_source

OVERFLOW = ("window", "truncate")
BACKENDS = ("torch", "onnxruntime")  # what runs the forward pass (scoring.load)
ENGINES = ("local", "ray")  # where: this process, or a pool of Ray actors (ray_engine)


@dataclass
class IngestSummary:
    run: str
    db: str
    n_sequences: int
    n_tokens: int
    n_windowed: int
    n_truncated: int
    seconds: float  # all of it: loading the model, scoring, the commit
    replaced: Replaced = field(default_factory=Replaced)
    scoring_seconds: float = 0.0  # the forward passes and staging alone: what the rate is of
    repeated: writer.RepeatedIds = field(default_factory=writer.RepeatedIds)
    migrated: str = ""  # what the commit did to an older store first, if anything

    def line(self) -> str:
        long = ""
        if self.n_windowed or self.n_truncated:
            long = f", {self.n_windowed} scored in windows, {self.n_truncated} truncated"
        rate = self.n_sequences / self.scoring_seconds if self.scoring_seconds else 0.0
        return (f"run {self.run!r}: {counted(self.n_sequences, 'sequence')}, {counted(self.n_tokens, 'token')}{long} "
                f"in {self.seconds:.1f} s (scoring {self.scoring_seconds:.1f} s, {rate:,.0f} seq/s) "
                f"-> {self.db}{self.replaced.line()}{self.repeated.line()}{self.migrated}")


def parse_shard(text: str | None, option: str = "shard") -> tuple[int, int] | None:
    """'i/N' -> (i, N): the sequences whose seq_id % N == i (a shard to score, or a fold to hold out)."""
    if text is None:
        return None
    match = re.fullmatch(r"(\d+)/(\d+)", text.strip())
    if not match or not 0 <= int(match[1]) < int(match[2]):
        raise UsageError(f"{option} {text!r} is not of the form i/N with 0 <= i < N", "e.g. '0/4'", parameter=option)
    return int(match[1]), int(match[2])


def ingest(
    model: str,
    data: str,
    *,
    db: str | None = None,
    split: str | None = None,
    run: str | None = None,
    replace: bool = False,
    label_versions: str | None = None,
    batch_size: int = 64,
    device: str = "auto",
    dtype: str = "float32",
    max_length: int | None = None,
    overflow: str = "window",
    stride: int | None = None,
    shard: str | None = None,
    limit: int | None = None,
    words_column: str | None = None,
    tags_column: str | None = None,
    id_column: str | None = None,
    chunk_size: int = 4096,
    progress: bool = True,
    group: str | None = None,
    step: int | None = None,
    backend: str = "torch",
    engine: str = "local",
    ray_address: str | None = None,
    workers: int | None = None,
    gpus_per_worker: float = 0,
    staging: str | None = None,
    foreign_db: bool = False,
) -> IngestSummary:
    """Score `data` with `model` and add it to the store at `db` as run `run`.

    `group` / `step`: the run belongs to a group of runs over the same sequences (e.g. one
    checkpoint per training step), at that step (default: the group's next).
    `backend`: "torch", or "onnxruntime" (the model exported to ONNX once, run by ONNX Runtime).
    `engine`: "local" (this process), or "ray": a pool of `workers` Ray actors (each with
    `gpus_per_worker` GPUs) on the cluster at `ray_address` (default: $RAY_ADDRESS, else a local
    one) scores the sequences and writes Parquet parts to `staging` (a folder or URI every
    worker can reach; default: a local temporary folder); the commit is the same either way.
    Replacing a run (`replace`) that has label versions needs `label_versions`: "drop" deletes
    them with it, "keep" carries them over when the new run has the same sequences (words and
    gold tags), see lossdb.ingest.replace.
    `foreign_db`: `db` may be another application's DuckDB file (lossdb's tables go beside its own).
    Returns the summary (saying what was replaced); raises LossdbError (the store unchanged) on
    any bad input, and on a full disk.
    """
    started = time.perf_counter()
    db_path = str(db or store_db.default_path())
    if batch_size < 1:
        raise UsageError(f"batch_size must be at least 1, not {batch_size}", "e.g. 64", parameter="batch_size")
    if overflow not in OVERFLOW:
        raise UsageError(f"overflow must be window or truncate, not {overflow!r}", "the default, window, drops nothing",
                         parameter="overflow")
    if limit is not None and limit < 1:
        raise UsageError(f"limit must be at least 1, not {limit}", "leave it out to score everything", parameter="limit")
    if max_length is not None and max_length < 1:
        raise UsageError(f"max_length must be at least 1, not {max_length}", "leave it out to use the model's",
                         parameter="max_length")
    if stride is not None and overflow == "truncate":  # (it was ignored)
        raise UsageError("stride is the overlap of windows, and overflow='truncate' makes none",
                         "leave out stride, or use overflow='window'", parameter="stride",
                         cli_message="--stride is the overlap of windows, and --overflow truncate makes none",
                         cli_hint="leave out --stride, or use --overflow window")
    if stride is not None and stride < 0:
        raise UsageError(f"stride must be 0 or more, not {stride}", "leave it out for half a window", parameter="stride")
    if backend not in BACKENDS:
        raise UsageError(f"unknown --backend {backend!r}", f"choose one of {', '.join(BACKENDS)}")
    if backend == "onnxruntime" and dtype != "float32":
        raise UsageError(f"--backend onnxruntime runs float32 only, not --dtype {dtype}",
                         "leave out --dtype, or use --backend torch")
    if engine not in ENGINES:
        raise UsageError(f"unknown --engine {engine!r}", f"choose one of {', '.join(ENGINES)}")
    if engine != "ray" and (ray_address or workers or gpus_per_worker or staging):
        raise UsageError("--ray-address, --workers, --gpus-per-worker and --staging are options of --engine ray",
                         "add --engine ray, or leave them out")
    check_policy(label_versions)
    if label_versions is not None and not replace:
        raise UsageError("label_versions says what replacing a run does with its label versions, and nothing is "
                         "replaced", "add replace=True, or leave it out", parameter="label_versions",
                         cli_message="--label-versions says what replacing a run does with its label versions, and "
                                     "nothing is replaced", cli_hint="add --replace, or leave it out")
    if run is not None:
        writer.check_run_text(run)
    shard_of = parse_shard(shard)
    check_group_step(group, step)
    source = open_source(data, split=split, words_column=words_column, tags_column=tags_column, id_column=id_column)
    run = run or _default_run_name(model, data, split, shard_of)
    migrated = check_store(db_path, run, replace=replace, label_versions=label_versions, foreign_db=foreign_db)
    if replace:
        group, step = _replaced_place(db_path, run, group, step)
    model_files.check_model(model)
    # The data's digest (keys, words, gold labels) is kept only where the store has sequences to
    # hold it against: label versions carried over, or a group's other runs.
    digest = label_versions == "keep" or (group is not None and shard_of is None)
    model_labels = model_files.label_names(model)
    n_expected, incoming = _check_data(source, shard_of, limit, model_labels, digest=digest)
    if incoming is not None or group is not None:
        _check_early(db_path, run, group, step, n_expected, model_labels, incoming, whole=shard_of is None,
                     keep=label_versions == "keep")

    common = dict(db_path=db_path, run=run, model=model, replace=replace, label_versions=label_versions,
                  group=group, step=step,
                  batch_size=batch_size, overflow=overflow, stride=stride, shard_of=shard_of, limit=limit,
                  progress=progress, n_expected=n_expected, foreign_db=foreign_db)
    if engine == "ray":
        ray_engine = _import_ray_engine()
        ray_options = dict(ray_address=ray_address, workers=workers, gpus_per_worker=gpus_per_worker, staging=staging)
        ray_engine.check(**ray_options)

        def score_on_ray(staged, examples, new_bar):
            return ray_engine.score(staged, model, source, examples, n_expected, new_bar=new_bar, device=device,
                                    dtype=dtype, backend=backend, max_length=max_length, overflow=overflow,
                                    stride=stride, batch_size=batch_size, chunk_size=chunk_size, **ray_options)

        summary = _stage_and_commit(source, lambda: ray_engine.StagedParts(staging), score_on_ray,
                                    extra_params={"engine": "ray", "backend": backend}, **common)
    else:
        loaded = score_steps.load_scorer(model, device=device, dtype=dtype, backend=backend)
        limit_length = score_steps.checked_max_length(loaded, max_length, stride)
        summary = score_and_commit(source, loaded, max_length=limit_length, chunk_size=chunk_size,
                                   extra_params={"engine": "local", "backend": backend}, **common)
    summary.seconds = time.perf_counter() - started
    summary.migrated = migrated
    return summary


def score_and_commit(
    source: Source,
    loaded,
    *,
    db_path: str,
    run: str,
    model: str,
    replace: bool = False,
    label_versions: str | None = None,
    group: str | None = None,
    step: int | None = None,
    batch_size: int = 64,
    max_length: int,
    overflow: str = "window",
    stride: int | None = None,
    shard_of: tuple[int, int] | None = None,
    limit: int | None = None,
    chunk_size: int = 4096,
    progress: bool = False,
    n_expected: int | None = None,
    extra_params: dict | None = None,
    foreign_db: bool = False,
) -> IngestSummary:
    """Score `source` with an already loaded model (scoring.LoadedModel) in batches, stage the
    rows, and commit them as run `run` in one transaction. Shared by `ingest()` and the
    training callback (lossdb.integrations.transformers), which scores the model being trained."""
    to_id = score_steps.label_mapper(source, loaded.label_names)

    def score_here(staged, examples, new_bar) -> dict:
        bar = new_bar()
        for chunk in score_steps.chunks(examples, chunk_size):
            scored = score_steps.score_chunk(chunk, loaded, to_id, max_length, overflow, stride, batch_size)
            try:
                staged.add(scored)
            except OSError as e:
                if is_disk_full(e):
                    raise disk_full(staged.folder.parent) from None
                raise
            bar.update(len(chunk))
        bar.close()
        return score_steps.scorer_facts(loaded, max_length)

    return _stage_and_commit(source, writer.StagedRun, score_here, db_path=db_path, run=run, model=model,
                             replace=replace, label_versions=label_versions, group=group, step=step,
                             batch_size=batch_size, overflow=overflow, stride=stride, shard_of=shard_of, limit=limit,
                             progress=progress, n_expected=n_expected, extra_params=extra_params, foreign_db=foreign_db)


def _stage_and_commit(source: Source, new_staged, score, *, db_path, run, model, replace, group, step, batch_size,
                      overflow, stride, shard_of, limit, progress, n_expected, extra_params,
                      label_versions: str | None = None, foreign_db=False) -> IngestSummary:
    """Stage the rows that `score(staged, examples, new_bar)` writes (in this process, or by Ray
    workers: ray_engine), then commit them with the run record in one transaction. `score`
    returns what the record keeps of the model (scorer_facts)."""
    started = time.perf_counter()
    staged = new_staged()
    try:
        examples = _numbered(source, shard_of, limit)
        total = n_expected if n_expected is not None else limit
        facts = score(staged, examples, lambda: _progress_bar(progress, total))
        if staged.n_sequences == 0:
            raise InputError(f"no sentences found in {source.description}", "pass data with at least one labelled sentence")
        scoring_seconds = time.perf_counter() - started
        created = writer.now()
        record = {
            "run": run, "created_at": created, "model": model, "model_revision": facts["revision"],
            "data_source": source.description, "split": source.split, "label_names": facts["label_names"],
            "version": __version__, "group": group, "step": step,
            "params": {
                "batch_size": batch_size, "device": facts["device"], "dtype": facts["dtype"],
                "max_length": facts["max_length"], "overflow": overflow, "stride": stride,
                "shard": list(shard_of) if shard_of else None, "limit": limit, **facts["versions"],
                "scoring_seconds": round(scoring_seconds, 3), **(extra_params or {}), **facts.get("engine", {}),
            },
        }
        try:
            committed = writer.commit(db_path, staged, record, replace=replace, label_versions=label_versions,
                                      foreign_db=foreign_db)
        except (OSError, duckdb.Error) as e:  # the commit rolled back (and removed a store it created)
            if is_disk_full(e):
                raise disk_full(Path(db_path).resolve().parent) from None
            raise
    finally:
        staged.discard()
    return IngestSummary(run, db_path, staged.n_sequences, staged.n_tokens, staged.n_windowed,
                         staged.n_truncated, time.perf_counter() - started, committed.replaced, scoring_seconds,
                         committed.repeated)


def _import_ray_engine():
    try:
        from . import ray_engine  # ray loads here, only for --engine ray
    except ModuleNotFoundError as e:
        if e.name and e.name.split(".")[0] == "ray":
            raise UsageError("--engine ray needs Ray Data, which is not installed", "pip install 'lossdb[ray]'") from None
        raise
    return ray_engine


def check_group_step(group: str | None, step: int | None) -> None:
    if step is not None and group is None:
        raise UsageError(f"a step ({step}) is given without a group", "name the run's group too (--group)")
    if group is not None and not group.strip():
        raise UsageError("the group name is empty", "e.g. --group train")
    if step is not None and (isinstance(step, bool) or not isinstance(step, int) or step < 0):
        raise UsageError(f"the step must be a whole number of 0 or more, not {step!r}", "e.g. --step 500")


def check_store(db_path: str, run: str, *, replace: bool, label_versions: str | None = None,
                 foreign_db: bool = False) -> str:
    """Fail before scoring if the store can't take this run; never create the file here.
    Returns a note for the summary where the commit will migrate an older store first.

    The store is opened read-write for a moment, as the commit will: a store that another
    process holds open (a reader as much as a writer) is reported now, not after scoring; so
    is a file that is not a lossdb store, or one written by a newer lossdb.
    """
    path = Path(db_path)
    if not path.parent.exists():
        raise StoreError(f"folder {path.parent} does not exist", "create it, or choose another --db path")
    if not path.exists():
        return ""
    con = store_db.open_file(path, read_only=False)
    try:
        store_db._check_length(con, path)
        state = store_db.inspect(con)
        store_db.check_writable(path, state, foreign_db=foreign_db)
        if "runs" in state.objects and state.kind == "lossdb":
            writer.check_run_name(con, run, replace=replace, label_versions=label_versions)
        if state.kind != "lossdb" or not state.pending:
            return ""
        names = ", ".join(f"{m.version:04d} {m.name}" for m in state.pending)
        older_format = (f"; it stays in a DuckDB format 1.x clients cannot open until `lossdb upgrade --db {path}`"
                        if store_db.storage_is_newer(con) else "")
        return f"; note: the store was migrated first (migrations {names}){older_format}"
    except duckdb.Error as e:
        damaged = store_db.damage_error(e, path)
        if damaged is None:
            raise
        raise damaged from None
    finally:
        con.close()


def _replaced_place(db_path: str, run: str, group: str | None, step: int | None) -> tuple[str | None, int | None]:
    """The group and step a run that replaces `run` takes: the replaced run's, unless `group` /
    `step` name others (re-scoring a checkpoint left its group, or came back as the last step)."""
    if not Path(db_path).exists():
        return group, step
    try:  # the file as it is (an older store is migrated only at the commit)
        con = duckdb.connect(str(db_path), read_only=True)
        try:
            found = con.execute(sql.read("run_group_step"), {"run": run}).fetchone()
        finally:
            con.close()
    except duckdb.Error:  # a store from before groups: the run had none
        return group, step
    if found is None or found[0] is None or (group is not None and group != found[0]):
        return group, step
    return found[0], found[1] if step is None else step


def _check_early(db_path: str, run: str, group: str | None, step: int | None, n_expected: int | None,
                 model_labels: list[str] | None, incoming, *, whole: bool, keep: bool) -> None:
    """Refuse before scoring what the commit would refuse after it, where the data tells now: a
    group's taken step, other labels or other sequences, label versions that cannot be kept (`keep`).
    `incoming`: the data's digest (_check_data), None where it was not taken."""
    if not Path(db_path).exists():
        return
    try:
        con = store_db.connect(db_path)
    except StoreError:  # an older store, which the commit migrates first and checks then
        return
    try:
        if incoming is not None:
            con.register("lossdb_incoming", incoming)
        if keep and incoming is not None:
            writer.check_kept_early(con, run)
        if group is not None:
            writer.check_group_early(con, run, group, step, n_expected, model_labels, whole=whole,
                                     digest=incoming is not None)
    finally:
        con.close()


def _check_data(source: Source, shard, limit, model_labels: list[str] | None, *, digest: bool = False):
    """Read the data once before the model loads: every sequence's words and tags line up, and
    (when the model's labels can be read from its config) every tag is one of them. Returns
    how many sequences will be scored (None for standard input, which can be read only once)
    and, with `digest` and the model's labels known, an Arrow table of what the commit writes
    of each sequence (seq_id, seq_key, words_hash, labels), for _check_early; else None."""
    if source.description == "<stdin>":
        return None, None
    to_id = score_steps.label_mapper(source, model_labels) if model_labels else None
    digest = digest and to_id is not None
    columns: dict[str, list] = {"seq_id": [], "seq_key": [], "words_hash": [], "labels": []}
    count = 0
    for seq_id, example in _numbered(source, shard, limit):
        score_steps.check_lengths(seq_id, example, source.description)
        if to_id is not None:
            ids = to_id(example.tags, score_steps.located(seq_id, example, source.description))
            if digest:
                hashed = score_steps.words_hash(example.words)
                columns["seq_id"].append(seq_id)
                columns["seq_key"].append(example.source_id if example.source_id is not None else hashed)
                columns["words_hash"].append(hashed)
                columns["labels"].append([model_labels[i] for i in ids])
        count += 1
    if count == 0:
        raise InputError(f"no sentences found in {source.description}", "pass data with at least one labelled sentence")
    if not digest:
        return count, None
    import pyarrow as pa

    return count, pa.table({"seq_id": pa.array(columns["seq_id"], pa.int64()),
                            "seq_key": pa.array(columns["seq_key"], pa.string()),
                            "words_hash": pa.array(columns["words_hash"], pa.string()),
                            "labels": pa.array(columns["labels"], pa.list_(pa.string()))})


def _default_run_name(model: str, data: str, split: str | None, shard) -> str:
    def short(text: str) -> str:
        return Path(text.rstrip("/")).name.removesuffix(".conllu").removesuffix(".conll") or "data"

    name = f"{short(model)}@{short(data[3:] if data.startswith('hf:') else data)}"
    if split:
        name += f":{split}"
    return f"{name}-{writer.now():%Y%m%d-%H%M%S}"


def _numbered(source: Source, shard, limit) -> Iterator[tuple[int, Example]]:
    numbered: Iterable[tuple[int, Example]] = enumerate(source)
    if limit is not None:
        numbered = itertools.islice(numbered, limit)
    if shard is not None:
        index, count = shard
        numbered = ((i, e) for i, e in numbered if i % count == index)
    return iter(numbered)


def _progress_bar(enabled: bool, total: int | None):
    from tqdm import tqdm

    return tqdm(total=total, desc="scoring", unit="seq", file=sys.stderr, disable=not enabled or None,
                dynamic_ncols=True, mininterval=0.5)
