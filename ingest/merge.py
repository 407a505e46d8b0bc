"""`merge()`: assemble one store from the stores that `ingest --shard i/N` wrote.

Scoring parallelises by sequence: N processes (or GPUs) each score the sequences with
seq_id % N == i into their own file. Merging checks that the shards of a run belong
together (same model revision, data, split and labels; every i of N present once) and
copies their rows, streamed as Arrow, into the target in one transaction.

Nothing of a source is left behind silently: its runs' label versions (the reviewed labels
of their sequences) and its metadata tables (`lossdb annotate`) come along. A label version
must be in every shard of its run, and a metadata table of one name must hold the same rows in
every store that has it (the target included); otherwise the merge is refused, naming them.
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from lossdb import sql
from lossdb.errors import InputError, StoreError
from lossdb.queries import db as store_db
from lossdb.queries import metadata
from lossdb.queries.result import named
from lossdb.queries.sqlnames import quote_identifier
from lossdb.text import counted

from . import writer

EXISTS_HINT = "merge into another --db file, or pass --replace"
VERSIONS_HINT = "merge into a new --db file, or replace the run with `lossdb ingest --replace --label-versions`"
SAME_ACROSS_SHARDS = ("model", "model_revision", "data_source", "split", "label_names", "group_name", "step")
# An out-of-fold run scores fold i with model i (trained without fold i): its shards differ in model.
ONE_MODEL_PER_SHARD = ("model", "model_revision")
# The scoring settings (runs.params) that change which sequences a shard holds or what it scores:
# shards that differ in one are no single ingest cut in pieces (batch size, device, engine are not).
SAME_SCORING = ("limit", "max_length", "overflow", "stride", "dtype", "backend")
# Where the scoring ran (pipeline's "engine"; ray_engine's own settings): shards may differ in it.
ENGINE_PARAMS = ("engine", "workers", "gpus_per_worker", "ray_chunk_size", "ray")


@dataclass
class Merged:
    """What a merge wrote: the merged runs, and which of them replaced a run of the target."""

    target: str
    n_sources: int
    runs: list[str]
    replaced: list[str] = field(default_factory=list)

    def line(self) -> str:
        names = ", ".join(self.runs)
        replaced = f"; replaced the earlier run{'s' if len(self.replaced) > 1 else ''} {', '.join(self.replaced)}" \
            if self.replaced else ""
        return (f"merged {counted(self.n_sources, 'store')} into {self.target}: "
                f"run{'s' if len(self.runs) > 1 else ''} {names}{replaced}")


def merge(target: str, sources: list[str], *, replace: bool = False, out_of_fold: bool = False,
          foreign_db: bool = False) -> Merged:
    """Merge the complete runs of `sources` into `target`; returns what it merged (`.runs`, the
    run names; `.replaced`, those that replaced a run of the target).

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
        if not Path(source).exists():
            raise InputError(f"no shard store at {source}", "check the shard paths (each an ingest --shard i/N store)")
        try:
            con = store_db.connect(source)
        except StoreError as e:  # said of the shard, not of --db
            raise StoreError(f"shard {source}: {e.message}", "check the shard paths (each an ingest --shard i/N store)",
                             parameter=None) from e
        try:
            for record in named(con, "shard_runs").records():
                parts[record["run_id"]].append((source, record))
        finally:
            con.close()
    if not parts:
        raise InputError("the shard stores hold no complete run", "run `lossdb ingest --shard i/N` first")
    merged = {run: _combine(run, pieces, out_of_fold=out_of_fold) for run, pieces in parts.items()}
    versions = {run: _combine_versions(run, pieces) for run, pieces in parts.items()}
    metadata = _source_metadata(sources)
    _check_target(target, merged, metadata, replace=replace)
    replaced = []

    def write(con) -> None:
        replaced.clear()  # write_store may call this again after a retry
        for run, record in merged.items():
            if writer.check_run_name(con, run, replace=replace, versions_hint=VERSIONS_HINT,
                                     exists_hint=EXISTS_HINT).replaced:
                replaced.append(run)
            writer.delete_run(con, run)
            for source, _ in sorted(parts[run], key=lambda p: _shard_index(p[1])):
                _copy_rows(con, source, run)
            if record["group"] is not None:
                writer.check_group(con, record)
            con.execute(sql.read("insert_run"), record)
            for version in versions[run]:
                con.execute(sql.read("merge_label_version"), {"run": run, **version})
            # each shard's label_quality weighed only its own words: weigh the whole run's
            store_db.score_run(con, run)
        _carry_metadata(con, target, metadata)

    writer.write_store(target, write, foreign_db=foreign_db)
    return Merged(str(target), len(sources), sorted(merged), sorted(replaced))


def _check_target(target: str, runs: dict, tables: dict, *, replace: bool) -> None:
    """Refuse what the target cannot take before opening it for writing (which rewrites its
    file even when the merge then rolls back): runs it holds, and other rows under a
    metadata table's name. The write transaction checks the same again."""
    if not Path(target).exists():
        return
    con = store_db.open_file(Path(target), read_only=True)
    try:
        state = store_db.inspect(con)
        if state.kind != "lossdb" or "runs" not in state.objects:
            return
        for run in runs:
            writer.check_run_name(con, run, replace=replace, versions_hint=VERSIONS_HINT, exists_hint=EXISTS_HINT)
        if tables:
            _check_metadata(con, target, tables)
    finally:
        con.close()


def _shard_index(record: dict) -> int:
    shard = json.loads(record["params"] or "{}").get("shard")
    return shard[0] if shard else 0


def _combine(run: str, pieces: list[tuple[str, dict]], *, out_of_fold: bool = False) -> dict:
    records = [r for _, r in pieces]
    settings = [json.loads(r["params"] or "{}") for r in records]  # each shard's runs.params, read once
    shards = [p.get("shard") for p in settings]
    if len(records) > 1 or shards[0] is not None:
        if any(s is None for s in shards):
            raise InputError(f"run {run!r} is in several stores but not all of them are shards",
                             "give each separate run its own --run name")
        counts = {s[1] for s in shards}
        indices = sorted(s[0] for s in shards)
        if len(counts) != 1 or indices != list(range(counts.pop())):
            raise InputError(f"run {run!r}: shards {', '.join(f'{i}/{n}' for i, n in shards)} do not make a whole",
                             "merge every shard i/N for i = 0..N-1, each once")
        revisions = {r["model_revision"] for r in records}
        for key in SAME_ACROSS_SHARDS:
            if out_of_fold and key in ONE_MODEL_PER_SHARD:
                continue
            if key == "model" and len(revisions) == 1 and None not in revisions:
                continue  # one model's files (the same content hash), named by another path
            values = [json.dumps(r[key], default=str, ensure_ascii=False) for r in records]
            if len(set(values)) != 1:
                hint = ("merge shards of the same model and data only, or pass out-of-fold (--out-of-fold) "
                        "for shards scored by one model each" if key in ONE_MODEL_PER_SHARD
                        else "merge shards of the same model and data only")
                shown = ", ".join(f"{v} (shard {i}/{n})" for v, (i, n) in zip(values, shards))
                raise InputError(f"run {run!r}: shards differ in {key}: {shown}", hint)
        for key in SAME_SCORING:
            if not all(key in p for p in settings):
                continue  # a shard from a lossdb that did not record it: nothing to compare
            values = [p[key] for p in settings]
            if len({json.dumps(v) for v in values}) != 1:
                shown = ", ".join(f"{json.dumps(v)} (shard {i}/{n})" for v, (i, n) in zip(values, shards))
                raise InputError(f"run {run!r}: shards were scored with different {key}: {shown}",
                                 f"score every shard with the same --{key.replace('_', '-')}, then merge")
    first = records[0]
    params = dict(settings[0], shard=None, merged_shards=len(records))
    if len(records) > 1:  # the scoring time of the whole run, as a single ingest records it
        params["scoring_seconds"] = round(sum(p.get("scoring_seconds") or 0 for p in settings), 3)
    model, revision = first["model"], first["model_revision"]
    if out_of_fold:
        ordered = sorted(records, key=_shard_index)
        params["out_of_fold"] = [{"shard": json.loads(r["params"] or "{}").get("shard"), "model": r["model"],
                                  "model_revision": r["model_revision"]} for r in ordered]
        model = "out-of-fold: " + ", ".join(r["model"] for r in ordered)
        revision = None
    # Each shard's engine settings, in shard order; where they differ, shard 0's would misstate the run.
    engines = [{"shard": p.get("shard"), **{k: p[k] for k in ENGINE_PARAMS if k in p}}
               for p in sorted(settings, key=lambda p: (p.get("shard") or [0])[0])]
    if len({json.dumps({**e, "shard": None}) for e in engines}) > 1:
        for key in ENGINE_PARAMS:
            params.pop(key, None)
        kinds = {e.get("engine") for e in engines}
        params["engine"] = kinds.pop() if len(kinds) == 1 else "mixed"
        params["shard_engines"] = engines
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
        for table in ("tokens", "sequences", "sequence_labels"):
            reader = shard.sql(sql.read(f"shard_{table}"), params={"run": run}).to_arrow_reader()
            con.register(f"merge_source_{table}", reader)
            try:
                con.execute(sql.read(f"merge_{table}"), {"run": run})
            finally:
                con.unregister(f"merge_source_{table}")
    finally:
        shard.close()


def _combine_versions(run: str, pieces: list[tuple[str, dict]]) -> list[dict]:
    """The label versions of `run` across its source stores, one record each (n_changed summed
    over shards); refused when a version is in some shards of the run but not all."""
    found = defaultdict(list)  # version -> [source's label_versions record]
    for source, _ in pieces:
        con = store_db.connect(source)
        try:
            for record in named(con, "shard_label_versions", {"run": run}).records():
                found[record["version"]].append((source, record))
        finally:
            con.close()
    out = []
    for version, having in sorted(found.items()):
        if len(having) != len(pieces):
            lacking = sorted({s for s, _ in pieces} - {s for s, _ in having})
            raise InputError(f"run {run!r}: label version {version!r} is in {having[0][0]} but not in {', '.join(lacking)}",
                             "import that version into the merged store instead (lossdb import-labels --as NAME)")
        records = [r for _, r in having]
        out.append({"version": version, "created_at": min(r["created_at"] for r in records),
                    "source": "; ".join(dict.fromkeys(r["source"] for r in records if r["source"])) or None,
                    "n_changed": sum(r["n_changed"] or 0 for r in records)})
    return out


def _source_metadata(sources: list[str]) -> dict[str, tuple[str, dict, object]]:
    """name -> (source, its annotations record, its rows as Arrow) for every metadata table of
    the sources; refused when two sources hold different rows under one name."""
    out: dict[str, tuple[str, dict, object]] = {}
    for source in sources:
        con = store_db.connect(source)
        try:
            for record in metadata.annotations(con).records():
                table = con.sql(sql.read("metadata_rows").replace("{table}", quote_identifier(record["name"]))).to_arrow_table()
                if record["name"] in out and not out[record["name"]][2].equals(table):
                    raise InputError(f"metadata table {record['name']!r} holds other rows in {source} than in "
                                     f"{out[record['name']][0]}", "merge the stores without it (drop it in one of "
                                     "them), or load one file into the merged store with `lossdb annotate`")
                out.setdefault(record["name"], (source, record, table))
        finally:
            con.close()
    return out


def _check_metadata(con, target: str, tables: dict[str, tuple[str, dict, object]]) -> set[str]:
    """Refuse source metadata tables that the target holds with other rows, or whose name is one
    of the target's own tables; returns the target's metadata table names."""
    registered = {r["name"] for r in metadata.annotations(con).records()}
    taken = {row[0] for row in named(con, "catalog_names").rows}
    for name, (source, _, rows) in tables.items():
        if name in registered:
            own = con.sql(sql.read("metadata_rows").replace("{table}", quote_identifier(name))).to_arrow_table()
            if not own.equals(rows):
                raise InputError(f"metadata table {name!r} holds other rows in {target} than in {source}",
                                 "merge into a new --db file, or drop one of the two tables first")
        elif name.lower() in taken:
            raise InputError(f"metadata table {name!r} of {source} has the name of a table or view of {target}",
                             "merge into a new --db file")
    return registered


def _carry_metadata(con, target: str, tables: dict[str, tuple[str, dict, object]]) -> None:
    """Create each source metadata table in the target (or keep the target's own when it holds
    the same rows), and record it with n_matched counted over the merged store."""
    registered = _check_metadata(con, target, tables)
    for name, (source, record, rows) in tables.items():
        table = quote_identifier(name)
        if name not in registered:
            con.register("merge_source_metadata", rows)
            try:
                con.execute(sql.read("merge_metadata_create").replace("{table}", table))
            finally:
                con.unregister("merge_source_metadata")
        con.execute(sql.read("annotate_unregister"), {"name": name})
        con.execute(sql.read("merge_annotation_register").replace("{table}", table), {
            "name": name, "source": record["source"], "key_column": record["key_column"],
            "match_by": record["match_by"], "n_rows": record["n_rows"], "created_at": record["created_at"]})
