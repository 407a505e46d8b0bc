"""The `lossdb` command: parse options, call the library, format what it returns.

Errors: the library raises LossdbError (message + hint); `errors()` below is the only
place that prints them, as one line on stderr, and picks the exit code. stdout is data.
"""
from __future__ import annotations

import os
import shutil
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer

from lossdb.errors import LossdbError, UsageError

from . import format as fmt

app = typer.Typer(
    name="lossdb",
    help="Find where a token-classification model fails and where its dataset's labels are wrong.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

DbOption = Annotated[Optional[str], typer.Option("--db", help="Store file [default: $LOSSDB_DB, else ./lossdb.duckdb].")]
RunOption = Annotated[Optional[str], typer.Option("--run", help="Run name [default: the newest complete run].")]
FormatOption = Annotated[str, typer.Option("--format", "-f", help="table, json, csv or markdown.")]
CountOption = Annotated[str, typer.Option("--n", "-n", metavar="N", help="How many sequences.")]
# Every command that writes a file the user names refuses to replace an existing one without it.
ForceOption = Annotated[bool, typer.Option("--force", help="Replace the output file if it exists.")]


@contextmanager
def errors():
    """Turn library errors into one line on stderr and a non-zero exit; never a traceback."""
    try:
        yield
    except LossdbError as e:
        one_line = str(e).replace("\r", "\\r").replace("\n", "\\n")  # a name with a newline stays one line
        typer.echo(f"lossdb: error: {one_line}", err=True)
        raise typer.Exit(e.exit_code) from None
    except KeyboardInterrupt:
        typer.echo("lossdb: interrupted; the store is unchanged", err=True)
        raise typer.Exit(130) from None
    except (typer.Exit, typer.Abort):
        raise
    except Exception as e:  # a bug in lossdb: say so plainly, keep the traceback for LOSSDB_DEBUG
        if os.environ.get("LOSSDB_DEBUG"):
            raise
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        typer.echo(f"lossdb: internal error: {type(e).__name__}: {first} (set LOSSDB_DEBUG=1 for the traceback)", err=True)
        raise typer.Exit(70) from None


def parse_count(text: str, option: str = "--n") -> int:
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise UsageError(f"{option} must be a whole number, not {text!r}", f"e.g. {option} 3") from None
    if value < 1:
        raise UsageError(f"{option} must be at least 1, not {value}", f"e.g. {option} 3")
    if value >= 2**63:
        raise UsageError(f"{option} {value} is too large", f"e.g. {option} 3")
    return value


def _interrupt_on_sigterm() -> None:
    """`kill PID` stops an ingest as Ctrl-C does: rolled back, staging files removed."""
    import signal

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def check_format(value: str) -> str:
    if value not in fmt.FORMATS:
        raise UsageError(f"unknown --format {value!r}", f"choose one of {', '.join(fmt.FORMATS)}")
    return value


def terminal_width(width: int | None) -> int | None:
    if width is not None:
        return width or None  # --width 0: never elide
    return shutil.get_terminal_size((120, 24)).columns


def echo(text: str) -> None:
    # color=True: click would otherwise strip what looks like ANSI codes when stdout is not a
    # terminal, changing CSV data; tables come here with control characters already escaped.
    typer.echo(text, color=True)


def open_store(db: str | None, *, read_only: bool = True):
    """The store at --db (default $LOSSDB_DB, else ./lossdb.duckdb), read-only unless asked."""
    from lossdb.queries import db as store_db

    return store_db.connect(db, read_only=read_only)


def print_result(result, out: str) -> None:
    """A query Result as a table, JSON, CSV or Markdown."""
    echo(fmt.result(result.columns, result.rows, out))


def print_samples(records: list[dict], out: str, width: int | None) -> None:
    """Sequences as `top` prints them: the book's tables (losses coloured on a terminal),
    or JSON / CSV / Markdown."""
    if out == "json":
        echo(fmt.top_json(records))
    elif out == "csv":
        echo(fmt.top_csv(records))
    elif out == "markdown":
        echo(fmt.top_markdown(records))
    elif records:
        cols = terminal_width(width)
        colour = fmt.terminal_colour(records) if sys.stdout.isatty() or os.environ.get("FORCE_COLOR") else None
        text = "\n\n".join(f"{fmt.sample_heading(r)}\n{fmt.sample_table(r, cols, colour=colour)}" for r in records)
        typer.echo(text, color=True if colour else None)


# --- commands ------------------------------------------------------------------------------


@app.command()
def ingest(
    model: Annotated[str, typer.Option("--model", "-m", help="Model folder or Hugging Face hub id.")],
    data: Annotated[str, typer.Option("--data", "-d", help="hf:NAME[:CONFIG], a .conll/.conllu/.iob/.tsv, .jsonl or .parquet file, or - for JSON Lines on stdin.")],
    split: Annotated[Optional[str], typer.Option(help="Split of a Hugging Face dataset.")] = None,
    run: Annotated[Optional[str], typer.Option("--run", help="Name of the run [default: MODEL@DATA-TIME].")] = None,
    db: DbOption = None,
    replace: Annotated[bool, typer.Option("--replace", help="Replace a complete run of the same name.")] = False,
    label_versions: Annotated[Optional[str], typer.Option("--label-versions", metavar="keep|drop", help="With --replace, what becomes of the run's label versions: keep (same sequences needed) or drop.")] = None,
    batch_size: Annotated[int, typer.Option(help="Sequences per forward pass.")] = 64,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
    dtype: Annotated[str, typer.Option(help="float32 (exact), bfloat16 or float16.")] = "float32",
    max_length: Annotated[Optional[int], typer.Option(help="Tokens per window [default: the model's maximum].")] = None,
    overflow: Annotated[str, typer.Option(help="Longer sequences: window (overlapping windows) or truncate (and flag).")] = "window",
    stride: Annotated[Optional[int], typer.Option(help="Tokens shared by neighbouring windows [default: half a window].")] = None,
    shard: Annotated[Optional[str], typer.Option(help="i/N: score only seq_id % N == i (run N of these, then `lossdb merge`).")] = None,
    limit: Annotated[Optional[int], typer.Option(help="Score only the first N sequences.")] = None,
    words_column: Annotated[Optional[str], typer.Option(help="Column of words (JSONL, Parquet, hf:).")] = None,
    tags_column: Annotated[Optional[str], typer.Option(help="Column of tags (JSONL, Parquet, hf:).")] = None,
    id_column: Annotated[Optional[str], typer.Option(help="Column of sequence ids, kept as the stable key.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    group: Annotated[Optional[str], typer.Option("--group", help="Add the run to this group of runs over the same data (one per checkpoint; lossdb dynamics).")] = None,
    step: Annotated[Optional[int], typer.Option("--step", help="The run's place in its group: epoch or training step [default: the group's next].")] = None,
    backend: Annotated[str, typer.Option(help="torch, or onnxruntime (exported once per model revision; pip install 'lossdb[onnx]').")] = "torch",
    engine: Annotated[str, typer.Option(help="local (this process), or ray: a pool of Ray actors (pip install 'lossdb[ray]').")] = "local",
    ray_address: Annotated[Optional[str], typer.Option(help="--engine ray: auto, HOST:PORT or ray://HOST:PORT [default: $RAY_ADDRESS, else a new local cluster].")] = None,
    workers: Annotated[Optional[int], typer.Option(help="--engine ray: actors, each loading the model once [default: one per CPU, or per --gpus-per-worker GPUs].")] = None,
    gpus_per_worker: Annotated[float, typer.Option(help="--engine ray: GPUs per actor.")] = 0,
    staging: Annotated[Optional[str], typer.Option(help="--engine ray: folder or URI (s3://, gs://...) every worker can reach, for the Parquet parts [default: a local temporary folder].")] = None,
) -> None:
    """Score a labelled dataset with a model and store one row per token."""
    with errors():
        _interrupt_on_sigterm()
        from lossdb.ingest import ingest as run_ingest

        summary = run_ingest(
            model, data, db=db, split=split, run=run, replace=replace, label_versions=label_versions,
            batch_size=batch_size, device=device,
            dtype=dtype, max_length=max_length, overflow=overflow, stride=stride, shard=shard, limit=limit,
            words_column=words_column, tags_column=tags_column, id_column=id_column, progress=not quiet,
            group=group, step=step,
            backend=backend, engine=engine, ray_address=ray_address, workers=workers,
            gpus_per_worker=gpus_per_worker, staging=staging,
        )
        typer.echo(f"lossdb: ingested {summary.line()}", err=True)


@app.command()
def merge(
    shards: Annotated[list[str], typer.Argument(help="Stores written by `lossdb ingest --shard i/N`.")],
    db: DbOption = None,
    replace: Annotated[bool, typer.Option("--replace", help="Replace complete runs of the same names.")] = False,
    out_of_fold: Annotated[bool, typer.Option("--out-of-fold", help="The shards were scored by one model each (fold i by the model trained without it).")] = False,
) -> None:
    """Merge the stores of sharded ingests into one store (--db)."""
    with errors():
        from lossdb.ingest.merge import merge as merge_stores
        from lossdb.queries import db as store_db

        target = db or store_db.default_path()
        runs = merge_stores(target, shards, replace=replace, out_of_fold=out_of_fold)
        typer.echo(f"lossdb: merged {len(shards)} stores into {target}: runs {', '.join(runs)}", err=True)


@app.command()
def upgrade(db: DbOption = None) -> None:
    """Bring a store up to this lossdb version: refresh its views and macros, fill new derived columns (rows are kept)."""
    with errors():
        from lossdb.queries import db as store_db

        path = db or store_db.default_path()
        if not Path(path).exists():
            raise UsageError(f"no lossdb store at {path}", "point --db at an existing store")
        store_db.connect(path, read_only=False).close()
        typer.echo(f"lossdb: {path} is up to date (schema {store_db.schema_fingerprint()})", err=True)


@app.command()
def top(
    n: CountOption = "3",
    run: RunOption = None,
    by: Annotated[str, typer.Option(help="total_loss, mean_loss or label_quality (lowest first).")] = "total_loss",
    db: DbOption = None,
    format: FormatOption = "table",
    width: Annotated[Optional[int], typer.Option(help="Elide tables wider than this [default: the terminal's; 0: never].")] = None,
    labels: Annotated[Optional[str], typer.Option("--labels", help="Judge against this label version [default: gold].")] = None,
    where_meta: Annotated[Optional[list[str]], typer.Option("--where-meta", metavar="COL=VALUE", help="Only sequences whose metadata column COL (lossdb annotate) is VALUE (repeatable).")] = None,
    group_by_meta: Annotated[Optional[str], typer.Option("--group-by-meta", metavar="COL", help="Instead: one row per value of metadata column COL, ranked by --by.")] = None,
) -> None:
    """The sequences with the highest loss, as the book shows them."""
    with errors():
        count, out = parse_count(n), check_format(format)
        if where_meta or group_by_meta:
            from .analysis import top_with_metadata

            return top_with_metadata(count=count, run=run, by=by, labels=labels, db=db, out=out, width=width,
                                     where_meta=where_meta, group_by_meta=group_by_meta)
        from lossdb import queries
        from lossdb.queries import db as store_db

        con = store_db.connect(db)
        print_samples(queries.top(con, count, run=run, by=by, labels=labels).records(), out, width)


@app.command()
def runs(db: DbOption = None, format: FormatOption = "table") -> None:
    """The complete runs in the store, newest first."""
    with errors():
        out = check_format(format)
        from lossdb import queries
        from lossdb.queries import db as store_db

        result = queries.runs(store_db.connect(db))
        if out == "table":
            keep = ["run_id", "created_at", "model", "data_source", "split", "n_sequences", "n_tokens"]
            index = [result.columns.index(c) for c in keep]
            rows = [[row[i] for i in index] for row in result.rows]
            rows = [[r[0], f"{r[1]:%Y-%m-%d %H:%M:%S}", *r[2:]] for r in rows]
            echo(fmt.result(keep, rows, out))
        else:
            echo(fmt.result(result.columns, result.rows, out))


@app.command("sql")
def sql_command(
    statement: Annotated[str, typer.Argument(help="SQL to run, e.g. \"SELECT * FROM sequence_losses LIMIT 5\".")],
    param: Annotated[Optional[list[str]], typer.Option("--param", "-p", help="NAME=VALUE, bound to $NAME (repeatable).")] = None,
    db: DbOption = None,
    format: FormatOption = "table",
    write: Annotated[bool, typer.Option("--write", help="Open the store read-write, to change it.")] = False,
) -> None:
    """Ad-hoc SQL on the store, read-only unless --write."""
    with errors():
        out = check_format(format)
        params = {}
        for item in param or []:
            name, sep, value = item.partition("=")
            if not sep or not name:
                raise UsageError(f"--param {item!r} is not NAME=VALUE", "e.g. --param run=my-run")
            params[name] = value
        from lossdb import queries
        from lossdb.queries import db as store_db

        result = queries.adhoc(store_db.connect(db, read_only=not write), statement, params or None)
        if result.columns:
            echo(fmt.result(result.columns, result.rows, out))


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the sample data and the tiny model.")] = Path("demo-out"),
    db: DbOption = None,
    n: CountOption = "3",
) -> None:
    """Build a sample with planted label errors and a tiny model, ingest it, show the top sequences."""
    with errors():
        count = parse_count(n)
        from lossdb import queries
        from lossdb.demo import build_demo
        from lossdb.ingest import ingest as run_ingest
        from lossdb.queries import db as store_db

        typer.echo(f"lossdb demo: building a sample and training a tiny model in {out}/ ...", err=True)
        built = build_demo(out)
        db_path = db or str(out / "demo.duckdb")
        summary = run_ingest(str(built["model"]), str(built["data"]), db=db_path, run="demo", replace=True)
        typer.echo(f"lossdb: ingested {summary.line()}", err=True)
        con = store_db.connect(db_path)
        records = queries.top(con, count, run="demo").records()
        planted = set(built["planted"])
        for r in records:
            mark = "  <- planted label error" if r["seq_id"] in planted else ""
            echo(f"{fmt.sample_heading(r)}{mark}\n{fmt.sample_table(r, terminal_width(None))}\n")
        order = [r["seq_id"] for r in queries.top(con, summary.n_sequences, run="demo").records()]
        ranks = sorted(order.index(seq_id) + 1 for seq_id in planted)
        echo(f"The {len(planted)} planted label errors rank {', '.join(map(str, ranks))} "
             f"of {summary.n_sequences} sequences by total loss.")
        echo(f"Explore: lossdb top --n 10 --db {db_path}   |   lossdb sql \"SELECT * FROM sequence_losses LIMIT 5\" --db {db_path}")


# Importing these modules registers their commands on `app`.
from . import analysis as _analysis_commands  # noqa: E402,F401
from . import dynamics as _dynamics_commands  # noqa: E402,F401
from . import labels as _label_commands  # noqa: E402,F401
from . import report as _report_commands  # noqa: E402,F401


def main() -> None:
    app()


if __name__ == "__main__":
    # `python -m lossdb.cli.app` runs this file as __main__, but the command modules imported
    # above register on the `app` of lossdb.cli.app: run that one, with every command.
    from lossdb.cli.app import main as registered_main

    sys.exit(registered_main())
