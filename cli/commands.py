"""The core commands: ingest, merge, upgrade, top, runs, sql and demo."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from lossdb import demo as demos
from lossdb import store as stores
from lossdb.errors import UsageError
from lossdb.queries import db as store_db

from . import format as fmt
from .common import (CountOption, DbOption, FormatOption, RunOption, WidthOption, app, check_format, echo, errors, open_store,
                     parse_count, print_result, print_samples, terminal_width)


# --- commands ------------------------------------------------------------------------------


@app.command()
def ingest(
    model: Annotated[str, typer.Option("--model", "-m", help="Model folder or Hugging Face hub id.")],
    data: Annotated[str, typer.Option("--data", "-d", help="hf:NAME[:CONFIG], a .conll/.conllu/.iob/.tsv, .jsonl or .parquet file, or - for JSON Lines on stdin.")],
    split: Annotated[Optional[str], typer.Option(help="Split of a Hugging Face dataset to score; for a file, the split it holds, recorded for `summary --by split`.")] = None,
    run: Annotated[Optional[str], typer.Option("--run", help="Name of the run [default: MODEL@DATA-TIME].", show_default=False)] = None,
    db: DbOption = None,
    replace: Annotated[bool, typer.Option("--replace", help="Replace a complete run of the same name.")] = False,
    label_versions: Annotated[Optional[str], typer.Option("--label-versions", metavar="keep|drop", help="With --replace, what becomes of the run's label versions: keep (same sequences needed) or drop.")] = None,
    batch_size: Annotated[int, typer.Option(help="Sequences per forward pass.")] = 64,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
    dtype: Annotated[str, typer.Option(help="float32 (exact), bfloat16 or float16.")] = "float32",
    max_length: Annotated[Optional[int], typer.Option(help="Tokens per window [default: the model's maximum].", show_default=False)] = None,
    overflow: Annotated[str, typer.Option(help="Longer sequences: window (overlapping windows) or truncate (and flag).")] = "window",
    stride: Annotated[Optional[int], typer.Option(help="Tokens shared by neighbouring windows [default: half a window].", show_default=False)] = None,
    shard: Annotated[Optional[str], typer.Option(help="i/N: score only seq_id % N == i (run N of these, then `lossdb merge`).")] = None,
    limit: Annotated[Optional[int], typer.Option(help="Score only the first N sequences.")] = None,
    words_column: Annotated[Optional[str], typer.Option(help="Column of words (JSONL, Parquet, hf:).")] = None,
    tags_column: Annotated[Optional[str], typer.Option(help="Column of tags (JSONL, Parquet, hf:).")] = None,
    id_column: Annotated[Optional[str], typer.Option(help="Column of sequence ids, kept as the stable key.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    group: Annotated[Optional[str], typer.Option("--group", help="Add the run to this group of runs over the same data (one per checkpoint; lossdb dynamics).")] = None,
    step: Annotated[Optional[int], typer.Option("--step", help="The run's place in its group: epoch or training step [default: the group's next].", show_default=False)] = None,
    backend: Annotated[str, typer.Option(help="torch, or onnxruntime (exported once per model revision; pip install 'lossdb[onnx]').")] = "torch",
    engine: Annotated[str, typer.Option(help="local (this process), or ray: a pool of Ray actors (pip install 'lossdb[ray]').")] = "local",
    ray_address: Annotated[Optional[str], typer.Option(help="--engine ray: auto, HOST:PORT or ray://HOST:PORT [default: $RAY_ADDRESS, else a new local cluster].", show_default=False)] = None,
    workers: Annotated[Optional[int], typer.Option(help="--engine ray: actors, each loading the model once [default: one per CPU, or per --gpus-per-worker GPUs].", show_default=False)] = None,
    gpus_per_worker: Annotated[float, typer.Option(help="--engine ray: GPUs per actor.")] = 0,
    staging: Annotated[Optional[str], typer.Option(help="--engine ray: folder or URI (s3://, gs://...) every worker can reach, for the Parquet parts [default: a local temporary folder].", show_default=False)] = None,
    foreign_db: Annotated[bool, typer.Option("--foreign-db", help="--db may be another application's DuckDB file: add lossdb's tables beside its own (never over them).")] = False,
) -> None:
    """Score a labelled dataset with a model and store one row per token."""
    with errors(sigterm=True):
        if quiet:  # datasets draws its own bars (building a dataset from files); read when it is imported
            os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
        from lossdb.ingest import ingest as run_ingest

        summary = run_ingest(
            model, data, db=db, split=split, run=run, replace=replace, label_versions=label_versions,
            batch_size=batch_size, device=device,
            dtype=dtype, max_length=max_length, overflow=overflow, stride=stride, shard=shard, limit=limit,
            words_column=words_column, tags_column=tags_column, id_column=id_column, progress=not quiet,
            group=group, step=step,
            backend=backend, engine=engine, ray_address=ray_address, workers=workers,
            gpus_per_worker=gpus_per_worker, staging=staging, foreign_db=foreign_db,
        )
        typer.echo(f"lossdb: ingested {summary.line()}", err=True)


@app.command()
def merge(
    shards: Annotated[list[str], typer.Argument(help="Stores written by `lossdb ingest --shard i/N`.")],
    db: DbOption = None,
    replace: Annotated[bool, typer.Option("--replace", help="Replace complete runs of the same names.")] = False,
    out_of_fold: Annotated[bool, typer.Option("--out-of-fold", help="The shards were scored by one model each (fold i by the model trained without it).")] = False,
    foreign_db: Annotated[bool, typer.Option("--foreign-db", help="--db may be another application's DuckDB file: add lossdb's tables beside its own (never over them).")] = False,
) -> None:
    """Merge the stores of sharded ingests into one store (--db)."""
    with errors():
        from lossdb.ingest.merge import merge as merge_stores  # ingest loads numpy and pyarrow

        target = db or store_db.default_path()
        merged = merge_stores(target, shards, replace=replace, out_of_fold=out_of_fold, foreign_db=foreign_db)
        typer.echo(f"lossdb: {merged.line()}", err=True)


@app.command()
def upgrade(db: DbOption = None) -> None:
    """Bring a store up to this lossdb: apply pending migrations, refresh its views and macros, rewrite it readable by DuckDB 1.4+ (rows are kept, nothing is re-scored)."""
    with errors({"path": "--db"}):
        path = db or store_db.default_path()
        done = stores.upgrade(path)
        for line in done:
            typer.echo(f"lossdb: {line}", err=True)
        typer.echo(f"lossdb: {path} {'is now' if done else 'was already'} up to date ({store_db.schema_version()})",
                   err=True)


@app.command()
def top(
    n: CountOption = "3",
    run: RunOption = None,
    by: Annotated[str, typer.Option(help="total_loss, mean_loss or label_quality (lowest first).")] = "total_loss",
    db: DbOption = None,
    format: FormatOption = "table",
    width: WidthOption = None,
    labels: Annotated[str, typer.Option("--labels", help="Judge against this label version [default: gold].", show_default=False)] = "gold",
    where_meta: Annotated[Optional[list[str]], typer.Option("--where-meta", metavar="COL=VALUE", help="Only sequences whose metadata column COL (lossdb annotate) is VALUE (repeatable).")] = None,
    group_by_meta: Annotated[Optional[str], typer.Option("--group-by-meta", metavar="COL", help="Instead: one row per value of metadata column COL, ranked by --by.")] = None,
) -> None:
    """The sequences with the highest loss, as the book shows them."""
    with errors({"where": "--where-meta", "column": "--group-by-meta"}):
        count, out = parse_count(n), check_format(format)
        terminal_width(width)  # a bad --width is refused before the query runs
        store = open_store(db)
        if group_by_meta:
            if where_meta:
                raise UsageError("--where-meta and --group-by-meta do not combine", "use one of them")
            print_result(store.meta_groups(group_by_meta, run=run, by=by, labels=labels), out)
        elif where_meta:
            print_samples(store.top_where(count, parse_pairs(where_meta, "--where-meta", "annotator=anna"), run=run,
                                          by=by, labels=labels).records(), out, width, labels)
        else:
            print_samples(store.top(count, run=run, by=by, labels=labels).records(), out, width, labels)


def parse_pairs(items: list[str] | None, option: str, example: str) -> list[tuple[str, str]]:
    """['NAME=VALUE', ...] (a repeatable option) -> [(NAME, VALUE), ...]."""
    pairs = []
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"{option} {item!r} is not NAME=VALUE", f"e.g. {option} {example}")
        if any(name == seen for seen, _ in pairs):
            raise UsageError(f"{option} {name} is given twice", f"give each NAME once, e.g. {option} {example}")
        pairs.append((name, value))
    return pairs


RUNS_TABLE = ["run_id", "created_at", "model", "data_source", "split", "n_sequences", "n_tokens"]


@app.command()
def runs(db: DbOption = None, format: FormatOption = "table") -> None:
    """The complete runs in the store, newest first."""
    with errors():
        out = check_format(format)
        result = open_store(db).runs()
        if out == "table":
            records = result.records()
            grouped = ["group_name", "step"] if any(r.get("group_name") for r in records) else []
            result = type(result).from_records(RUNS_TABLE + grouped, records)
        print_result(result, out)


@app.command("sql")
def sql_command(
    statement: Annotated[str, typer.Argument(help="SQL to run, e.g. \"SELECT * FROM sequence_losses LIMIT 5\".")],
    param: Annotated[Optional[list[str]], typer.Option("--param", "-p", help="NAME=VALUE, bound to $NAME as text (repeatable; cast it for a number: $NAME::INTEGER).")] = None,
    db: DbOption = None,
    format: FormatOption = "table",
    write: Annotated[bool, typer.Option("--write", help="Run statements that change the store, settings or files (the store opened read-write).")] = False,
) -> None:
    """Ad-hoc SQL on the store: only statements that read, unless --write."""
    with errors({"params": "--param"}):
        out = check_format(format)
        params = dict(parse_pairs(param, "--param", "run=my-run"))
        result = open_store(db, read_only=not write).sql(statement, params or None, write=write)
        if out == "table" and result.columns == fmt.EXPLAIN_COLUMNS:
            echo(fmt.query_plan(result.rows))
        elif result.columns:
            print_result(result, out)


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the sample data and the tiny model.")] = Path("demo-out"),
    db: Annotated[Optional[str], typer.Option("--db", help="Store file [default: OUT/demo.duckdb; never $LOSSDB_DB, your own store].", show_default=False)] = None,
    n: CountOption = "3",
) -> None:
    """Build a sample with planted label errors and a tiny model, ingest it, show the top sequences."""
    with errors({"path": "--out"}):
        count = parse_count(n)
        demos.check_demo(out, db=db)  # a refusal first, before the line that says it is building
        typer.echo(f"lossdb demo: building a sample and training a tiny model in {out}/ ...", err=True)
        built = demos.run_demo(out, db=db, progress=True)
        typer.echo(f"lossdb: ingested {built.summary.line()}", err=True)
        store = open_store(built.db)
        for r in store.top(count, run=built.run).records():
            mark = "  <- planted label error" if r["seq_id"] in built.planted else ""
            echo(f"{fmt.sample_heading(r)}{mark}\n{fmt.sample_table(r, terminal_width(None))}\n")
        echo(f"The {len(built.planted)} planted label errors rank {', '.join(map(str, built.ranks))} "
             f"of {built.summary.n_sequences} sequences by total loss.")
        echo(f"Explore: lossdb top --n 10 --db {built.db}   |   lossdb sql \"SELECT * FROM sequence_losses LIMIT 5\" --db {built.db}")
