"""The analysis commands (issue #3): loss-by, confusion, entities, issues, search, summary,
annotate, metadata, compare; and the metadata options of `top`.

Thin: parse, call lossdb.queries, format. Nothing heavy is imported at module import: the
queries load inside each command, matplotlib only for --plot.
"""
from __future__ import annotations

from typing import Annotated, Optional

import typer

from lossdb.errors import UsageError

from . import format as fmt
from .app import (CountOption, DbOption, ForceOption, FormatOption, RunOption, app, check_format, echo, errors, open_store,
                  parse_count, print_result, print_samples)

LabelsOption = Annotated[str, typer.Option("--labels", help="Label version to judge against [default: gold, the source's labels].")]
ModeOption = Annotated[str, typer.Option("--mode", help="Entity decoding: default (seqeval's default, conlleval) or strict (seqeval's strict, for --scheme).")]
SchemeOption = Annotated[str, typer.Option("--scheme", help="With --mode strict: the tags' scheme, IOB1, IOB2, IOE1, IOE2, IOBES (BIOES) or BILOU.")]
WidthOption = Annotated[Optional[int], typer.Option(help="Elide tables wider than this [default: the terminal's; 0: never].")]


# --- loss by token / label ----------------------------------------------------------------------


@app.command("loss-by")
def loss_by(
    what: Annotated[str, typer.Argument(help="token (per input token, highest total first) or label (per label, highest mean first).")],
    n: Annotated[str, typer.Option("--n", "-n", metavar="N", help="How many tokens (loss-by token) [default: 10; 0: all].")] = "10",
    run: RunOption = None,
    labels: LabelsOption = "gold",
    db: DbOption = None,
    format: FormatOption = "table",
) -> None:
    """Count, mean and sum of the loss of labelled tokens, per input token or per label (the book's tables)."""
    with errors():
        out = check_format(format)
        if what not in ("token", "label"):
            raise UsageError(f"cannot group losses by {what!r}", "choose token or label, e.g. lossdb loss-by token")
        from lossdb.queries import analysis

        con = open_store(db)
        if what == "token":
            count = None if n.strip() == "0" else parse_count(n)
            print_result(analysis.loss_by_token(con, count, run=run, labels=labels), out)
        else:
            print_result(analysis.loss_by_label(con, run=run, labels=labels), out)


# --- confusion matrix ----------------------------------------------------------------------------------


@app.command()
def confusion(
    normalize: Annotated[bool, typer.Option("--normalize", help="Divide each row by the gold label's token count (the book's matrix).")] = False,
    plot: Annotated[Optional[str], typer.Option("--plot", metavar="FILE", help="Also draw the normalised matrix to FILE (.png or .svg).")] = None,
    run: RunOption = None,
    labels: LabelsOption = "gold",
    db: DbOption = None,
    format: FormatOption = "table",
    force: ForceOption = False,
) -> None:
    """Confusion matrix of gold labels (rows) against predictions (columns) over labelled tokens."""
    with errors():
        out = check_format(format)
        from lossdb.queries import analysis

        con = open_store(db)
        if plot is not None:
            from lossdb import plots

            plots.check_out(plot, force=force)
        print_result(analysis.confusion(con, run=run, labels=labels, normalize=normalize), out)
        if plot is not None:
            analysis.plot_confusion(con, plot, run=run, labels=labels, force=force)
            typer.echo(f"lossdb: wrote {plot}", err=True)


# --- entities ----------------------------------------------------------------------------------------------


@app.command()
def entities(
    mode: ModeOption = "default",
    scheme: SchemeOption = "IOB2",
    errors_: Annotated[bool, typer.Option("--errors", help="Entity error types instead of precision / recall / F1.")] = False,
    by: Annotated[str, typer.Option("--by", help="With --errors: type (counts per type), sequence (most errors first) or entity (one row each).")] = "type",
    category: Annotated[Optional[str], typer.Option(help="With --errors --by entity: only correct, wrong_type, wrong_boundary, wrong_type_and_boundary, missed or spurious.")] = None,
    seq_id: Annotated[Optional[int], typer.Option("--seq-id", help="With --errors --by entity: only this sequence.")] = None,
    n: Annotated[str, typer.Option("--n", "-n", metavar="N", help="With --errors --by sequence|entity: how many rows [default: 20].")] = "20",
    run: RunOption = None,
    labels: LabelsOption = "gold",
    db: DbOption = None,
    format: FormatOption = "table",
) -> None:
    """Entity-level precision, recall and F1 per type (as seqeval computes them), or entity error types."""
    with errors():
        out = check_format(format)
        from lossdb.queries import entities as entity_queries

        con = open_store(db)
        if not errors_:
            print_result(entity_queries.entity_scores(con, run, labels=labels, mode=mode, scheme=scheme), out)
            return
        count = parse_count(n) if by != "type" else None
        print_result(entity_queries.entity_errors(con, run, labels=labels, mode=mode, scheme=scheme, by=by, n=count,
                                            seq_id=seq_id, category=category), out)


# --- label issues ------------------------------------------------------------------------------------------


def _suspect_text(suspected) -> str:
    return "; ".join(s["text"] for s in suspected)


@app.command()
def issues(
    n: CountOption = "10",
    method: Annotated[Optional[str], typer.Option(help="Ranking method [default: the default of --methods]; with --group: aum (default), confidence, correctness, forgetting or variability.")] = None,
    methods: Annotated[bool, typer.Option("--methods", help="List the ranking methods and stop.")] = False,
    evaluate: Annotated[Optional[str], typer.Option("--evaluate", metavar="VERSION", help="Measure every method against label version VERSION (its changed sequences are the positives).")] = None,
    plot: Annotated[Optional[str], typer.Option("--plot", metavar="FILE", help="With --evaluate: also draw the precision-recall curves to FILE (.png or .svg).")] = None,
    seq_id: Annotated[Optional[int], typer.Option("--seq-id", help="Instead: every labelled token of this sequence with its scores.")] = None,
    run: RunOption = None,
    labels: LabelsOption = "gold",
    db: DbOption = None,
    format: FormatOption = "table",
    group: Annotated[Optional[str], typer.Option("--group", help="Rank by the training dynamics of this group of runs (default method: aum).")] = None,
    force: ForceOption = False,
) -> None:
    """Sequences most likely to carry label errors, with what is suspected; or how well each method finds known corrections."""
    with errors():
        count, out = parse_count(n), check_format(format)
        if group is not None:
            if evaluate is not None or methods:
                raise UsageError("--group ranks by training dynamics; --evaluate and --methods are for the label-issue methods",
                                 "drop --group, or drop --evaluate / --methods")
            from .dynamics import issues_for_group

            return issues_for_group(group=group, count=count, method=method or "aum",
                                    db=db, out=out, run=run, seq_id=seq_id)
        from lossdb.queries import analysis, rankings

        if methods:
            print_result(rankings.methods(), out)
            return
        if plot is not None and evaluate is None:
            raise UsageError("--plot draws the curves of --evaluate", "add --evaluate VERSION")
        con = open_store(db)
        if evaluate is not None:
            if plot is not None:
                from lossdb import plots

                plots.check_out(plot, force=force)
            result = rankings.evaluate(con, evaluate, run=run, labels=labels)
            if out == "table":
                at = result.columns.index("default")
                rows = [(*row[:at], "*" if row[at] else "", *row[at + 1:]) for row in result.rows]
                echo(fmt.result(result.columns, rows, out))
            else:
                print_result(result, out)
            if plot is not None:
                rankings.plot_evaluation(con, evaluate, plot, run=run, labels=labels, force=force)
                typer.echo(f"lossdb: wrote {plot}", err=True)
            return
        if seq_id is not None:
            print_result(analysis.token_issues(con, run=run, labels=labels, seq_id=seq_id, only_issues=False), out)
            return
        result = analysis.label_issues(con, count, run=run, labels=labels, method=method)
        if out == "json":
            print_result(result, out)
            return
        keep = [c for c in result.columns if c not in ("suspected", "suspects")]
        rows = [(*(r[c] for c in keep), _suspect_text(r["suspected"])) for r in result.records()]
        echo(fmt.result([*keep, "suspected"], rows, out))


# --- search -------------------------------------------------------------------------------------------------


@app.command()
def search(
    token: Annotated[Optional[str], typer.Argument(help="A token as the tokenizer prints it, e.g. '▁(' or '##en'.")] = None,
    word: Annotated[Optional[str], typer.Option(help="The word the token belongs to.")] = None,
    label: Annotated[Optional[str], typer.Option(help="The token's label (e.g. I-LOC).")] = None,
    pred: Annotated[Optional[str], typer.Option(help="The model's prediction for the token.")] = None,
    errors_: Annotated[bool, typer.Option("--errors", help="Only labelled tokens predicted wrong.")] = False,
    n: CountOption = "3",
    run: RunOption = None,
    labels: LabelsOption = "gold",
    db: DbOption = None,
    format: FormatOption = "table",
    width: WidthOption = None,
) -> None:
    """Sequences containing a token (and/or word, label, prediction), highest loss first, as `top` shows them."""
    with errors():
        count, out = parse_count(n), check_format(format)
        from lossdb.queries import analysis

        result = analysis.search(open_store(db), token, word=word, label=label, pred=pred, errors=errors_, n=count,
                                 run=run, labels=labels)
        records = result.records()
        total = records[0]["n_sequences"] if records else 0
        typer.echo(f"lossdb: {total} sequence{'s' if total != 1 else ''} match; showing {len(records)}", err=True)
        print_samples(records, out, width)


# --- summaries ----------------------------------------------------------------------------------------------------


@app.command()
def summary(
    by: Annotated[str, typer.Option(help="run, split, language or model.")] = "run",
    entities_: Annotated[bool, typer.Option("--entities/--no-entities", help="Include entity-level precision / recall / F1.")] = True,
    mode: ModeOption = "default",
    labels: LabelsOption = "gold",
    db: DbOption = None,
    format: FormatOption = "table",
) -> None:
    """Per run (or per split, language or model): counts, mean loss, token accuracy, entity F1."""
    with errors():
        out = check_format(format)
        from lossdb.queries import analysis

        result = analysis.summary(open_store(db), by=by, labels=labels, entities=entities_, mode=mode)
        if out == "table" and by == "run":
            keep = [c for c in result.columns if c not in ("created_at", "model", "data_source", "labels")]
            index = [result.columns.index(c) for c in keep]
            echo(fmt.result(keep, [[row[i] for i in index] for row in result.rows], out))
        else:
            print_result(result, out)


# --- metadata -----------------------------------------------------------------------------------------------------


@app.command()
def annotate(
    file: Annotated[str, typer.Argument(help="Per-sequence metadata: .csv/.tsv, .parquet or .jsonl.")],
    key: Annotated[str, typer.Option("--key", help="The column that names each row's sequence.")],
    match: Annotated[str, typer.Option(help="How the key names sequences: auto, id (source id), text (the words) or seq_id (row index in --run).")] = "auto",
    name: Annotated[str, typer.Option(help="Table to load the metadata into.")] = "metadata",
    replace: Annotated[bool, typer.Option("--replace", help="Replace a metadata table of the same name.")] = False,
    run: Annotated[Optional[str], typer.Option("--run", help="With --match seq_id: the run whose row indices the key holds [default: the newest].")] = None,
    db: DbOption = None,
) -> None:
    """Load per-sequence metadata (annotator, source document, ...) into the store, joined by sequence key."""
    with errors():
        from lossdb.queries import db as store_db
        from lossdb.queries import metadata

        result = metadata.annotate(store_db.connect(db, read_only=False), file, key=key, match=match, name=name,
                                   replace=replace, run=run)
        r = result.records()[0]
        typer.echo(f"lossdb: loaded {r['n_rows']:,} rows of {r['source']} into table {r['name']!r} "
                   f"({r['n_matched']:,} name a stored sequence; matched by {r['match_by']} on column {r['key_column']!r})",
                   err=True)


@app.command("metadata")
def metadata_command(
    name: Annotated[Optional[str], typer.Argument(help="A metadata table to print [default: list the tables].")] = None,
    db: DbOption = None,
    format: FormatOption = "table",
) -> None:
    """The metadata tables loaded with `lossdb annotate`, or the rows of one."""
    with errors():
        out = check_format(format)
        from lossdb.queries import metadata

        con = open_store(db)
        print_result(metadata.metadata_table(con, name) if name else metadata.annotations(con), out)


def top_with_metadata(*, count: int, run, by: str, labels, db, out: str, width, where_meta, group_by_meta) -> None:
    """`lossdb top --where-meta COL=VALUE ... | --group-by-meta COL` (called by app.top)."""
    from lossdb.queries import metadata

    con = open_store(db)
    labels = labels or "gold"
    if group_by_meta:
        if where_meta:
            raise UsageError("--where-meta and --group-by-meta do not combine", "use one of them")
        print_result(metadata.meta_groups(con, group_by_meta, run=run, by=by, labels=labels), out)
        return
    result = metadata.top_where(con, count, metadata.parse_conditions(where_meta), run=run, by=by, labels=labels)
    print_samples(result.records(), out, width)


# --- comparing runs ------------------------------------------------------------------------------------------------


@app.command()
def compare(
    run_a: Annotated[str, typer.Argument(help="The run to compare from (e.g. the older checkpoint).")],
    run_b: Annotated[str, typer.Argument(help="The run to compare to; changes are b - a.")],
    what: Annotated[str, typer.Option(help="sequences (largest loss change first), labels or entities.")] = "sequences",
    n: CountOption = "10",
    by: Annotated[str, typer.Option(help="With sequences: total_loss, mean_loss or label_quality.")] = "total_loss",
    mode: ModeOption = "default",
    labels: LabelsOption = "gold",
    db: DbOption = None,
    format: FormatOption = "table",
) -> None:
    """Two runs over the same data: the sequences whose loss changed most, per-label and per-entity-type changes."""
    with errors():
        count, out = parse_count(n), check_format(format)
        from lossdb.queries import compare as compare_queries

        result = compare_queries.compare(open_store(db), run_a, run_b, what=what, n=count, by=by, labels=labels, mode=mode)
        if out == "table" and what == "sequences":
            drop = {"seq_key", "mean_loss_a", "mean_loss_b", "label_quality_a", "label_quality_b"}
            keep = [c for c in result.columns if c not in drop]
            index = [result.columns.index(c) for c in keep]
            echo(fmt.result(keep, [[row[i] for i in index] for row in result.rows], out))
        else:
            print_result(result, out)
