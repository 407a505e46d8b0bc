"""`merge()`: assemble one store from the stores that `ingest --shard i/N` wrote.

Scoring parallelises by sequence: N processes (or GPUs) each score the sequences with
seq_id % N == i into their own file. Merging checks that the shards of a run belong
together (same model revision, data, split and labels; every i of N present once) and
copies their rows, streamed as Arrow, into the target in one transaction.
"""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from lossdb import sql
from lossdb.errors import InputError
from lossdb.queries import db as store_db
from lossdb.queries.result import named

from . import writer

SAME_ACROSS_SHARDS = ("model", "model_revision", "data_source", "split", "label_names", "group_name", "step")
# An out-of-fold run scores fold i with model i (trained without fold i): its shards differ in model.
ONE_MODEL_PER_SHARD = ("model", "model_revision")


def merge(target: str, sources: list[str], *, replace: bool = False, out_of_fold: bool = False,
          foreign_db: bool = False) -> list[str]:
    """Merge the complete runs of `sources` into `target`; returns the merged run names.

    `out_of_fold`: the shards of a run were scored by different models (fold i by the model
    trained without fold i, `lossdb export --fold i/K`); the merged run records each shard's model.
    `foreign_db`: `target` may be another application's DuckDB file (lossdb's tables go beside its own).
    """
    if not sources:
        raise InputError("no shard stores given", "e.g. lossdb merge --db all.duckdb shard0.duckdb shard1.duckdb")
    if any(Path(s).resolve() == Path(target).resolve() for s in sources):
        raise InputError(f"{target} is both the target and a source", "merge into a new --db file")
    parts = defaultdict(list)  # run_id -> [(source path, runs record)]
    for source in sources:
        con = store_db.connect(source)
        try:
            for record in named(con, "shard_runs").records():
                parts[record["run_id"]].append((source, record))
        finally:
            con.close()
    if not parts:
        raise InputError("the shard stores hold no complete run", "run `lossdb ingest --shard i/N` first")
    merged = {run: _combine(run, pieces, out_of_fold=out_of_fold) for run, pieces in parts.items()}

    def write(con) -> None:
        for run, record in merged.items():
            writer.check_run_name(con, run, replace=replace)
            writer.delete_run(con, run)
            for source, _ in sorted(parts[run], key=lambda p: _shard_index(p[1])):
                _copy_rows(con, source, run)
            # each shard's label_quality used its own words' thresholds: use the whole run's
            con.execute(sql.read("refresh_label_quality"), {"run": run})
            if record["group"] is not None:
                writer.check_group(con, record)
            con.execute(sql.read("insert_run"), record)

    writer.write_store(target, write, foreign_db=foreign_db)
    return sorted(merged)


def _shard_index(record: dict) -> int:
    shard = json.loads(record["params"] or "{}").get("shard")
    return shard[0] if shard else 0


def _combine(run: str, pieces: list[tuple[str, dict]], *, out_of_fold: bool = False) -> dict:
    records = [r for _, r in pieces]
    shards = [json.loads(r["params"] or "{}").get("shard") for r in records]
    if len(records) > 1 or shards[0] is not None:
        if any(s is None for s in shards):
            raise InputError(f"run {run!r} is in several stores but not all of them are shards",
                             "give each separate run its own --run name")
        counts = {s[1] for s in shards}
        indices = sorted(s[0] for s in shards)
        if len(counts) != 1 or indices != list(range(counts.pop())):
            raise InputError(f"run {run!r}: shards {', '.join(f'{i}/{n}' for i, n in shards)} do not make a whole",
                             "merge every shard i/N for i = 0..N-1, each once")
        for key in SAME_ACROSS_SHARDS:
            if out_of_fold and key in ONE_MODEL_PER_SHARD:
                continue
            if len({json.dumps(r[key], default=str) for r in records}) != 1:
                hint = ("merge shards of the same model and data only, or pass out-of-fold (--out-of-fold) "
                        "for shards scored by one model each" if key in ONE_MODEL_PER_SHARD
                        else "merge shards of the same model and data only")
                raise InputError(f"run {run!r}: shards differ in {key}", hint)
    first = records[0]
    params = json.loads(first["params"] or "{}")
    params.update(shard=None, merged_shards=len(records))
    model, revision = first["model"], first["model_revision"]
    if out_of_fold:
        ordered = sorted(records, key=_shard_index)
        params["out_of_fold"] = [{"shard": json.loads(r["params"] or "{}").get("shard"), "model": r["model"],
                                  "model_revision": r["model_revision"]} for r in ordered]
        model = "out-of-fold: " + ", ".join(r["model"] for r in ordered)
        revision = None
    return {
        "run": run, "created_at": min(r["created_at"] for r in records), "model": model,
        "model_revision": revision, "data_source": first["data_source"], "split": first["split"],
        "label_names": first["label_names"], "params": json.dumps(params), "version": first["lossdb_version"],
        "group": first["group_name"], "step": first["step"],
        **{k: sum(r[k] or 0 for r in records) for k in ("n_sequences", "n_tokens", "n_windowed", "n_truncated")},
    }


def _copy_rows(con, source: str, run: str) -> None:
    """Stream one shard's rows of `run` into the target as Arrow record batches."""
    shard = store_db.connect(source)
    try:
        for table in ("tokens", "sequences"):
            reader = shard.execute(sql.read(f"shard_{table}"), {"run": run}).to_arrow_reader()
            con.register(f"merge_source_{table}", reader)
            try:
                con.execute(sql.read(f"merge_{table}"), {"run": run})
            finally:
                con.unregister(f"merge_source_{table}")
    finally:
        shard.close()
