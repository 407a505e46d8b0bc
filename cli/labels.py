"""Label versions on the command line: export for review, import corrections, list and diff
versions, and the questions that look across sequences (consistency, seen-unseen, buckets,
calibration, decoding). Each command parses, calls the Store, and formats; errors are printed
by common.errors()."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from lossdb.text import counted

from .common import (DbOption, FormatOption, LabelsOption, ModeOption, RunOption, SchemeOption, app, check_format, errors,
                     open_store, parse_count, print_result, reading)


@app.command()
def export(
    out: Annotated[Path, typer.Option("--out", "-o", help="File to write (a folder for hf-dataset).")],
    to: Annotated[Optional[str], typer.Option("--to", help="label-studio, conll, jsonl, parquet or hf-dataset [default: the one --out's suffix names (.json: label-studio), else label-studio].", show_default=False)] = None,
    run: RunOption = None,
    labels: LabelsOption = "gold",
    by: Annotated[Optional[str], typer.Option(help="Rank the top --n by label_quality (lowest first), total_loss or mean_loss [default: label_quality].", show_default=False)] = None,
    n: Annotated[Optional[str], typer.Option("--n", "-n", metavar="N", help="How many of the ranked sequences [default: 200].", show_default=False)] = None,
    ids: Annotated[Optional[str], typer.Option("--ids", help="A read-only query whose seq_id column (else its first) picks the sequences.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Export every sequence of the run.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace --out if it exists.")] = False,
    fold: Annotated[Optional[str], typer.Option("--fold", metavar="i/K", help="Every sequence but those with seq_id % K == i: the training data for fold i's model (out-of-fold runs).")] = None,
    db: DbOption = None,
) -> None:
    """Write sequences for review or training: the top label issues by default, or --ids, or --all, or --fold."""
    with errors({"format": "--to", "everything": "--all", "path": "--out"}):
        count = parse_count(n) if n is not None else None
        summary = open_store(db).export(out, format=to, run=run, labels=labels, by=by, n=count, ids=ids,
                                        everything=all_, force=force, fold=fold)
        typer.echo(f"lossdb: {summary.line()}", err=True)


@app.command("import-labels")
def import_labels(
    path: Annotated[Path, typer.Argument(help="Corrected labels: Label Studio JSON export, CoNLL, JSONL, Parquet or a hf-dataset folder.")],
    as_: Annotated[str, typer.Option("--as", help="Name of the new label version.")],
    run: Annotated[Optional[str], typer.Option("--run", help="Run to import into [default: the run the file's rows name, as `lossdb export` writes them, else the newest].", show_default=False)] = None,
    format: Annotated[Optional[str], typer.Option("--format", "-f", help="label-studio, conll, jsonl, parquet or hf-dataset [default: from the suffix].", show_default=False)] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Replace a label version of the same name.")] = False,
    words_column: Annotated[Optional[str], typer.Option("--words-column", help="JSONL/Parquet/dataset column of words (as for ingest).")] = None,
    tags_column: Annotated[Optional[str], typer.Option("--tags-column", help="Column of labels (as for ingest).")] = None,
    id_column: Annotated[Optional[str], typer.Option("--id-column", help="Column of sequence ids (as for ingest).")] = None,
    db: DbOption = None,
) -> None:
    """Import corrected annotations as a label version of a run (all or nothing)."""
    with errors({"name": "--as", "path": "--db"}):
        with open_store(db, read_only=False) as store:
            summary = store.import_labels(path, name=as_, run=run, format=format, replace=replace,
                                          words_column=words_column, tags_column=tags_column, id_column=id_column)
        typer.echo(f"lossdb: {summary.line()}", err=True)


@app.command("labels")
def labels_command(
    run: RunOption = None,
    delete: Annotated[Optional[str], typer.Option("--delete", metavar="VERSION", help="Delete this label version of the run (its labels and scores).")] = None,
    db: DbOption = None,
    format: FormatOption = "table",
) -> None:
    """The label versions of a run, gold first, with what each changed; or --delete one."""
    if delete is not None:
        with errors({"name": "--delete"}):
            run_id = open_store(db, read_only=False).delete_label_version(delete, run=run)
            typer.echo(f"lossdb: deleted label version {delete!r} of run {run_id!r}", err=True)
        return
    with reading(db, format) as (store, out):
        print_result(store.label_versions(run=run), out)


@app.command("diff-labels")
def diff_labels(
    to: Annotated[str, typer.Option("--to", help="The label version to compare with --from.")],
    from_: Annotated[str, typer.Option("--from", help="The label version to start from.")] = "gold",
    run: RunOption = None,
    db: DbOption = None,
    format: FormatOption = "table",
) -> None:
    """Entities added, removed, retyped, reshaped, split or merged between two label versions."""
    with reading(db, format, {"from_labels": "--from", "to_labels": "--to"}) as (store, out):
        result = store.diff_labels(to, from_labels=from_, run=run)
        sequences = len(set(result.column("seq_id")))
        if out == "table":  # run_id and the text make the table too wide
            result = result.drop(["run_id", "text"])
        print_result(result, out)
        changes = len(result.rows)
        typer.echo(f"lossdb: {counted(changes, 'entity change')} in {counted(sequences, 'sequence')} ({from_} -> {to})",
                   err=True)


@app.command()
def consistency(
    run: RunOption = None,
    labels: LabelsOption = "gold",
    n: Annotated[str, typer.Option("--n", "-n", metavar="N", help="How many surface forms.")] = "20",
    examples: Annotated[int, typer.Option(help="seq_ids shown per minority reading.")] = 3,
    db: DbOption = None,
    format: FormatOption = "table",
) -> None:
    """Surface forms labelled as different types, or as an entity here and O there."""
    with errors():
        count, out = parse_count(n), check_format(format)
        print_result(open_store(db).consistency(run=run, labels=labels, examples=examples, n=count), out)


@app.command("seen-unseen")
def seen_unseen(
    train: Annotated[str, typer.Option("--train", help="The training set: a run of this store, or a data file.")],
    run: RunOption = None,
    labels: LabelsOption = "gold",
    mode: ModeOption = "default",
    scheme: SchemeOption = None,
    db: DbOption = None,
    format: FormatOption = "table",
) -> None:
    """Metrics and loss for entities seen in training (by surface form) versus unseen."""
    with reading(db, format) as (store, out):
        print_result(store.seen_unseen(train, run=run, labels=labels, mode=mode, scheme=scheme),
                     out)


@app.command()
def buckets(
    run: RunOption = None,
    labels: LabelsOption = "gold",
    by: Annotated[Optional[str], typer.Option(help="entity_length, sequence_length or word_frequency [default: all three].", show_default=False)] = None,
    mode: ModeOption = "default",
    scheme: SchemeOption = None,
    db: DbOption = None,
    format: FormatOption = "table",
) -> None:
    """Entity metrics and loss by entity length, sequence length and word frequency."""
    with reading(db, format) as (store, out):
        print_result(store.buckets(run=run, labels=labels, by=by, mode=mode, scheme=scheme), out)


@app.command()
def calibration(
    run: RunOption = None,
    labels: LabelsOption = "gold",
    bins: Annotated[int, typer.Option(help="Equal-width confidence bins.")] = 10,
    table: Annotated[bool, typer.Option("--table", help="Show the reliability table (per label and bin) instead.")] = False,
    label: Annotated[Optional[str], typer.Option("--label", help="Only this predicted label in the reliability table.")] = None,
    db: DbOption = None,
    format: FormatOption = "table",
) -> None:
    """Expected calibration error per predicted label, or the reliability table (--table)."""
    with reading(db, format) as (store, out):
        if table or label:
            print_result(store.reliability(run=run, labels=labels, bins=bins, label=label), out)
        else:
            print_result(store.calibration(run=run, labels=labels, bins=bins), out)


@app.command()
def decoding(
    run: RunOption = None,
    labels: LabelsOption = "gold",
    differences: Annotated[bool, typer.Option("--differences", help="List the entities whose verdict differs instead.")] = False,
    scheme: SchemeOption = None,
    db: DbOption = None,
    format: FormatOption = "table",
) -> None:
    """Lenient (conlleval) versus strict (--scheme, IOB2 unless told) entity decoding: metrics side by side."""
    with reading(db, format) as (store, out):
        print_result(store.decoding(run=run, labels=labels, differences=differences,
                                    scheme=scheme), out)
