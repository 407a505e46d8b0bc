"""Label versions on the command line: export for review, import corrections, list and diff
versions, and the questions that look across sequences (consistency, seen-unseen, buckets,
calibration, decoding). Each command parses, calls lossdb.queries.versions or
lossdb.ingest.labels, and formats; errors are printed by app.errors()."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .app import (DbOption, FormatOption, RunOption, app, check_format, errors, open_store, parse_count,
                  print_result)

LabelsOption = Annotated[Optional[str], typer.Option("--labels", help="Label version to judge against [default: gold].")]
ModeOption = Annotated[str, typer.Option("--mode", help="Entity decoding: default (seqeval's default, conlleval's lenient chunks) or strict (seqeval's strict, for --scheme).")]
SchemeOption = Annotated[str, typer.Option("--scheme", help="Strict decoding's scheme: IOB1, IOB2, IOE1, IOE2, IOBES (BIOES) or BILOU.")]


@app.command()
def export(
    out: Annotated[Path, typer.Option("--out", "-o", help="File to write (a folder for hf-dataset).")],
    to: Annotated[str, typer.Option("--to", help="label-studio, conll, jsonl, parquet or hf-dataset.")] = "label-studio",
    run: RunOption = None,
    labels: LabelsOption = None,
    by: Annotated[str, typer.Option(help="Rank by label_quality (lowest first), total_loss or mean_loss.")] = "label_quality",
    n: Annotated[str, typer.Option("--n", "-n", metavar="N", help="How many of the ranked sequences.")] = "200",
    ids: Annotated[Optional[str], typer.Option("--ids", help="A read-only query whose seq_id column picks the sequences.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Export every sequence of the run.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace --out if it exists.")] = False,
    fold: Annotated[Optional[str], typer.Option("--fold", metavar="i/K", help="Every sequence but those with seq_id % K == i: the training data for fold i's model (out-of-fold runs).")] = None,
    db: DbOption = None,
) -> None:
    """Write sequences for review or training: the top label issues by default, or --ids, or --all, or --fold."""
    with errors():
        count = parse_count(n)
        from lossdb.ingest.labels import export_labels

        summary = export_labels(open_store(db), out, fmt=to, run=run, labels=labels, by=by, n=count, ids=ids,
                                everything=all_, force=force, fold=fold)
        typer.echo(f"lossdb: {summary.line()}", err=True)


@app.command("import-labels")
def import_labels(
    path: Annotated[Path, typer.Argument(help="Corrected labels: Label Studio JSON export, CoNLL, JSONL, Parquet or a hf-dataset folder.")],
    as_: Annotated[str, typer.Option("--as", help="Name of the new label version.")],
    run: RunOption = None,
    format: Annotated[Optional[str], typer.Option("--format", "-f", help="label-studio, conll, jsonl, parquet or hf-dataset [default: from the suffix].")] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Replace a label version of the same name.")] = False,
    words_column: Annotated[Optional[str], typer.Option("--words-column", help="JSONL/Parquet/dataset column of words (as for ingest).")] = None,
    tags_column: Annotated[Optional[str], typer.Option("--tags-column", help="Column of labels (as for ingest).")] = None,
    id_column: Annotated[Optional[str], typer.Option("--id-column", help="Column of sequence ids (as for ingest).")] = None,
    db: DbOption = None,
) -> None:
    """Import corrected annotations as a label version of a run (all or nothing)."""
    with errors():
        from lossdb.ingest.labels import import_labels_at

        summary = import_labels_at(db, path, name=as_, run=run, fmt=format, replace=replace,
                                   words_column=words_column, tags_column=tags_column, id_column=id_column)
        typer.echo(f"lossdb: {summary.line()}", err=True)


@app.command("labels")
def labels_command(run: RunOption = None, db: DbOption = None, format: FormatOption = "table") -> None:
    """The label versions of a run, gold first, with what each changed."""
    with errors():
        out = check_format(format)
        from lossdb.queries import versions

        print_result(versions.label_versions(open_store(db), run), out)


@app.command("diff-labels")
def diff_labels(
    to: Annotated[str, typer.Option("--to", help="The label version to compare with --from.")],
    from_: Annotated[str, typer.Option("--from", help="The label version to start from.")] = "gold",
    run: RunOption = None,
    db: DbOption = None,
    format: FormatOption = "table",
) -> None:
    """Entities added, removed, retyped, reshaped, split or merged between two label versions."""
    with errors():
        out = check_format(format)
        from lossdb.queries import versions

        result = versions.diff_labels(open_store(db), run, from_labels=from_, to_labels=to)
        sequences = len({row[1] for row in result.rows})
        if out == "table":  # run_id and the text make the table too wide
            result = type(result)(result.columns[1:-1], [row[1:-1] for row in result.rows])
        print_result(result, out)
        typer.echo(f"lossdb: {len(result.rows)} entity changes in {sequences} sequences ({from_} -> {to})", err=True)


@app.command()
def consistency(
    run: RunOption = None,
    labels: LabelsOption = None,
    n: Annotated[str, typer.Option("--n", "-n", metavar="N", help="How many surface forms.")] = "20",
    examples: Annotated[int, typer.Option(help="seq_ids shown per minority reading.")] = 3,
    db: DbOption = None,
    format: FormatOption = "table",
) -> None:
    """Surface forms labelled as different types, or as an entity here and O there."""
    with errors():
        count, out = parse_count(n), check_format(format)
        from lossdb.queries import versions

        result = versions.consistency(open_store(db), run, labels=labels, examples=examples)
        print_result(type(result)(result.columns, result.rows[:count]), out)


@app.command("seen-unseen")
def seen_unseen(
    train: Annotated[str, typer.Option("--train", help="The training set: a run of this store, or a data file.")],
    run: RunOption = None,
    labels: LabelsOption = None,
    mode: ModeOption = "default",
    scheme: SchemeOption = "IOB2",
    db: DbOption = None,
    format: FormatOption = "table",
) -> None:
    """Metrics and loss for entities seen in training (by surface form) versus unseen."""
    with errors():
        out = check_format(format)
        from lossdb.queries import versions

        print_result(versions.seen_unseen(open_store(db), run, train=train, labels=labels, mode=mode, scheme=scheme), out)


@app.command()
def buckets(
    run: RunOption = None,
    labels: LabelsOption = None,
    by: Annotated[Optional[str], typer.Option(help="entity_length, sequence_length or word_frequency [default: all three].")] = None,
    mode: ModeOption = "default",
    scheme: SchemeOption = "IOB2",
    db: DbOption = None,
    format: FormatOption = "table",
) -> None:
    """Entity metrics and loss by entity length, sequence length and word frequency."""
    with errors():
        out = check_format(format)
        from lossdb.queries import versions

        print_result(versions.buckets(open_store(db), run, labels=labels, by=by, mode=mode, scheme=scheme), out)


@app.command()
def calibration(
    run: RunOption = None,
    labels: LabelsOption = None,
    bins: Annotated[int, typer.Option(help="Equal-width confidence bins.")] = 10,
    table: Annotated[bool, typer.Option("--table", help="Show the reliability table (per label and bin) instead.")] = False,
    label: Annotated[Optional[str], typer.Option("--label", help="Only this predicted label in the reliability table.")] = None,
    db: DbOption = None,
    format: FormatOption = "table",
) -> None:
    """Expected calibration error per predicted label, or the reliability table (--table)."""
    with errors():
        out = check_format(format)
        from lossdb.queries import versions

        con = open_store(db)
        if table or label:
            print_result(versions.reliability(con, run, labels=labels, bins=bins, label=label), out)
        else:
            print_result(versions.calibration(con, run, labels=labels, bins=bins), out)


@app.command()
def decoding(
    run: RunOption = None,
    labels: LabelsOption = None,
    differences: Annotated[bool, typer.Option("--differences", help="List the entities whose verdict differs instead.")] = False,
    scheme: SchemeOption = "IOB2",
    db: DbOption = None,
    format: FormatOption = "table",
) -> None:
    """Lenient (conlleval) versus strict (--scheme, IOB2 unless told) entity decoding: metrics side by side."""
    with errors():
        out = check_format(format)
        from lossdb.queries import versions

        con = open_store(db)
        if differences:
            print_result(versions.decoding_differences(con, run, labels=labels, scheme=scheme), out)
        else:
            print_result(versions.decoding(con, run, labels=labels, scheme=scheme), out)
