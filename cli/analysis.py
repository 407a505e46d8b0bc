"""The analysis commands (issue #3): loss-by, confusion, entities, issues, search, summary,
annotate, metadata, compare.

Thin: parse, call the Store, format. matplotlib loads only for --plot.
"""
from __future__ import annotations

from typing import Annotated, Optional

import typer

from lossdb.errors import UsageError
from lossdb.queries import rankings
from lossdb.text import counted

from .common import (CountOption, DbOption, ForceOption, FormatOption, LabelsOption, ModeOption, RunOption,
                     SchemeOption, WidthOption, app,
                     check_format, errors, open_store, parse_count, print_result, print_samples, reading,
                     note_truncated, terminal_width)


# --- loss by token / label ----------------------------------------------------------------------


@app.command("loss-by")
def loss_by(
    what: Annotated[str, typer.Argument(help="token (per input token, highest total first) or label (per label, highest mean first).")],
    n: Annotated[str, typer.Option("--n", "-n", metavar="N", help="How many tokens (loss-by token) [default: 10; 0: all].", show_default=False)] = "10",
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
        store = open_store(db)
        if what == "token":
            count = None if n.strip() == "0" else parse_count(n)
            print_result(store.loss_by_token(count, run=run, labels=labels), out)
        else:
            print_result(store.loss_by_label(run=run, labels=labels), out)


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
    with reading(db, format, {"path": "--plot"}) as (store, out):
        if plot is not None:
            from lossdb import plots

            plots.check_out(plot, force=force)
            store.plot_confusion(plot, run=run, labels=labels, force=force)  # first: a failed write prints no table
            typer.echo(f"lossdb: wrote {plot}", err=True)
        print_result(store.confusion(run=run, labels=labels, normalize=normalize), out)


# --- entities ----------------------------------------------------------------------------------------------


@app.command()
def entities(
    mode: ModeOption = "default",
    scheme: SchemeOption = None,
    errors_: Annotated[bool, typer.Option("--errors", help="Entity error types instead of precision / recall / F1: one per gold entity (by its best-overlapping prediction), and spurious for a prediction overlapping none.")] = False,
    by: Annotated[str, typer.Option("--by", help="With --errors: type (counts per type), sequence (most errors first) or entity (one row each).")] = "type",
    category: Annotated[Optional[str], typer.Option(help="With --errors --by entity: only correct, wrong_type, wrong_boundary, wrong_type_and_boundary, missed or spurious.")] = None,
    seq_id: Annotated[Optional[int], typer.Option("--seq-id", help="With --errors --by entity: only this sequence.")] = None,
    n: Annotated[Optional[str], typer.Option("--n", "-n", metavar="N", help="With --errors --by sequence|entity: how many rows [default: 20].", show_default=False)] = None,
    run: RunOption = None,
    labels: LabelsOption = "gold",
    db: DbOption = None,
    format: FormatOption = "table",
) -> None:
    """Entity-level precision, recall and F1 per type (as seqeval computes them), or entity error types."""
    with reading(db, format) as (store, out):
        # options of the error views, without --errors, would be ignored (entity_errors refuses
        # one view's options given to another)
        for option, given in (("--category", category is not None), ("--seq-id", seq_id is not None),
                              ("--n", n is not None), ("--by", by != "type")):
            if given and not errors_:
                view = "--errors" if option == "--by" else "--errors --by " + ("sequence|entity" if option == "--n" else "entity")
                raise UsageError(f"{option} applies to entities {view} only", f"add {view}, or leave out {option}")
        note_truncated(store, [run])
        if not errors_:
            print_result(store.entity_scores(run=run, labels=labels, mode=mode, scheme=scheme), out)
            return
        count = parse_count(n) if n is not None else (20 if by != "type" else None)
        print_result(store.entity_errors(run=run, labels=labels, mode=mode, scheme=scheme, by=by, n=count,
                                         seq_id=seq_id, category=category), out)


# --- label issues ------------------------------------------------------------------------------------------


@app.command()
def issues(
    n: Annotated[Optional[str], typer.Option("--n", "-n", metavar="N", help="How many sequences [default: 10].", show_default=False)] = None,
    method: Annotated[Optional[str], typer.Option(help="Ranking method [default: the default of --methods]; with --group: aum (default), confidence, correctness, forgetting or variability.", show_default=False)] = None,
    methods: Annotated[bool, typer.Option("--methods", help="List the ranking methods and stop.")] = False,
    evaluate: Annotated[Optional[str], typer.Option("--evaluate", metavar="VERSION", help="Measure every method (or --method) against label version VERSION (its changed sequences are the positives).")] = None,
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
    with errors({"path": "--plot", "truth": "--evaluate"}):
        count, out = parse_count("10" if n is None else n), check_format(format)
        if group is not None:
            if evaluate is not None or methods or plot is not None or force:
                raise UsageError("--group ranks by training dynamics; --evaluate, --methods, --plot and --force are "
                                 "for the label-issue methods", "drop --group, or drop them")
            from .dynamics import issues_for_group

            return issues_for_group(group=group, count=count, method=method or "aum",
                                    db=db, out=out, run=run, seq_id=seq_id, labels=labels)
        if methods:
            for option, given in (("--method", method), ("--n", n), ("--evaluate", evaluate), ("--plot", plot),
                                  ("--seq-id", seq_id)):
                if given is not None:  # (it was ignored)
                    raise UsageError(f"--methods lists every method, and {option} does not apply to it",
                                     f"drop {option}, or drop --methods")
            print_result(rankings.methods(), out)
            return
        if plot is not None and evaluate is None:
            raise UsageError("--plot draws the curves of --evaluate", "add --evaluate VERSION")
        if force and plot is None:
            raise UsageError("--force replaces the file of --plot, and no --plot is given", "drop --force, or add --plot FILE")
        if seq_id is not None and evaluate is None:
            for option, given in (("--n", n), ("--method", method)):
                if given is not None:  # every labelled token of the sequence, by every score: it was ignored
                    raise UsageError(f"--seq-id lists every labelled token of the sequence with all its scores, "
                                     f"and {option} does not apply to it", f"drop {option}, or drop --seq-id")
        if evaluate is not None and (n is not None or seq_id is not None):
            raise UsageError(f"{'--n' if n is not None else '--seq-id'} does not apply to --evaluate",
                             "drop it: --evaluate measures whole rankings, with precision at k = the "
                             "number of positives and at 10, 50 and 100")
        store = open_store(db)
        if evaluate is not None:
            result = store.evaluate_rankings(evaluate, run=run, labels=labels, plot=plot, force=force,
                                             methods=None if method is None else [method])
            if out == "table":
                records = result.records()
                for r in records:
                    r["default"] = "*" if r["default"] else ""
                print_result(type(result).from_records(result.columns, records), out)
            else:
                print_result(result, out)
            if plot is not None:
                typer.echo(f"lossdb: wrote {plot}", err=True)
            return
        if seq_id is not None:
            print_result(store.token_issues(run=run, labels=labels, seq_id=seq_id, only_issues=False), out)
            return
        result = store.label_issues(count, run=run, labels=labels, method=method)
        if out == "json":
            print_result(result, out)
            return
        keep = [c for c in result.columns if c not in ("suspected", "suspects")]
        records = [{**r, "suspected": rankings.suspected_text(r["suspected"])} for r in result.records()]
        print_result(type(result).from_records([*keep, "suspected"], records), out)


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
        terminal_width(width)  # a bad --width is refused before the query runs
        store = open_store(db)
        result = store.search(token, word=word, label=label, pred=pred, errors=errors_, n=count, run=run, labels=labels)
        records = result.records()
        total = records[0]["n_sequences"] if records else 0
        hint = store.search_hint(token, run=run) if not total and token is not None else None
        typer.echo(f"lossdb: {counted(total, 'sequence')} {'matches' if total == 1 else 'match'}; showing {len(records)}"
                   + (f"; {hint}" if hint else ""), err=True)
        print_samples(records, out, width, labels)


# --- summaries ----------------------------------------------------------------------------------------------------


@app.command()
def summary(
    by: Annotated[str, typer.Option(help="run, split, language or model.")] = "run",
    entities_: Annotated[bool, typer.Option("--entities/--no-entities", help="Include entity-level precision / recall / F1.")] = True,
    mode: ModeOption = "default",
    scheme: SchemeOption = None,
    labels: LabelsOption = "gold",
    run: Annotated[Optional[list[str]], typer.Option("--run", help="Only this run (repeatable) [default: every complete run].", show_default=False)] = None,
    db: DbOption = None,
    format: FormatOption = "table",
) -> None:
    """Per run (or per split, language or model): counts, mean loss, token accuracy, entity F1."""
    with reading(db, format, {"runs": "--run"}) as (store, out):
        result = store.summary(by=by, labels=labels, entities=entities_, mode=mode, scheme=scheme,
                               runs=run)
        if entities_:
            note_truncated(store, run or None)
        if labels != "gold" and by == "run":
            fallen = [r["run_id"] for r in result.records() if r["labels"] != labels]
            if fallen:
                typer.echo(f"lossdb: note: {counted(len(fallen), 'run')} without label version '{labels}' "
                           f"({', '.join(fallen)}) judged against gold, as the labels column says", err=True)
        if out == "table":
            hidden = (["created_at", "model", "data_source"] if by == "run" else []) + (["labels"] if labels == "gold" else [])
            result = result.drop(hidden)
        print_result(result, out)


# --- metadata -----------------------------------------------------------------------------------------------------


@app.command()
def annotate(
    file: Annotated[str, typer.Argument(help="Per-sequence metadata: .csv/.tsv, .parquet or .jsonl.")],
    key: Annotated[str, typer.Option("--key", help="The column that names each row's sequence.")],
    match: Annotated[str, typer.Option(help="How the key names sequences: auto, id (source id), text (the words) or seq_id (row index in --run).")] = "auto",
    name: Annotated[str, typer.Option(help="Table to load the metadata into.")] = "metadata",
    replace: Annotated[bool, typer.Option("--replace", help="Replace a metadata table of the same name.")] = False,
    run: Annotated[Optional[str], typer.Option("--run", help="With --match seq_id: the run whose row indices the key holds [default: the newest].", show_default=False)] = None,
    db: DbOption = None,
) -> None:
    """Load per-sequence metadata (annotator, source document, ...) into the store, joined by sequence key."""
    with errors({"path": "--db"}):
        result = open_store(db, read_only=False).annotate(file, key=key, match=match, name=name, replace=replace,
                                                          run=run)
        r = result.one()
        of_run = f" of run {r['run']!r}" if r["run"] else ""
        shared = (f"; note: {counted(r['n_shared'], 'row')} {'names' if r['n_shared'] == 1 else 'name'} a sentence "
                  "that the data repeats word for word without an id, and its values go to every copy"
                  if r["n_shared"] else "")
        typer.echo(f"lossdb: loaded {counted(r['n_rows'], 'row')} of {r['source']} into table {r['name']!r} "
                   f"({r['n_matched']:,} {'names' if r['n_matched'] == 1 else 'name'} a stored sequence; matched by "
                   f"{r['match_by']}{of_run} on column {r['key_column']!r}){shared}", err=True)


@app.command("metadata")
def metadata_command(
    name: Annotated[Optional[str], typer.Argument(help="A metadata table to print [default: list the tables].")] = None,
    db: DbOption = None,
    format: FormatOption = "table",
) -> None:
    """The metadata tables loaded with `lossdb annotate`, or the rows of one."""
    with reading(db, format) as (store, out):
        print_result(store.metadata(name), out)


# --- comparing runs ------------------------------------------------------------------------------------------------


@app.command()
def compare(
    run_a: Annotated[str, typer.Argument(help="The run to compare from (e.g. the older checkpoint).")],
    run_b: Annotated[str, typer.Argument(help="The run to compare to; changes are b - a.")],
    what: Annotated[str, typer.Option(help="sequences (largest loss change first), labels or entities.")] = "sequences",
    n: Annotated[Optional[str], typer.Option("--n", "-n", metavar="N", help="With sequences: how many [default: 10].", show_default=False)] = None,
    by: Annotated[Optional[str], typer.Option(help="With sequences: total_loss, mean_loss or label_quality [default: total_loss].", show_default=False)] = None,
    mode: ModeOption = "default",
    scheme: SchemeOption = None,
    labels: LabelsOption = "gold",
    db: DbOption = None,
    format: FormatOption = "table",
) -> None:
    """Two runs over the same data: the sequences whose loss changed most, per-label and per-entity-type changes."""
    with errors({"run_a": None, "run_b": None}):
        count, out = (None if n is None else parse_count(n)), check_format(format)
        store = open_store(db)
        result = store.compare(run_a, run_b, what=what, n=count, by=by, labels=labels, mode=mode,
                               scheme=scheme)
        if what == "entities":
            note_truncated(store, [run_a, run_b])
        if what != "sequences":
            shared = store.compare_overlap(run_a, run_b)
            if not shared["shared"] == shared["n_a"] == shared["n_b"]:
                typer.echo(f"lossdb: note: the runs share {counted(shared['shared'], 'sequence')} of {shared['n_a']:,} and "
                           f"{shared['n_b']:,}; --what {what} compares each whole run", err=True)
        if out == "table" and what == "sequences":
            result = result.drop(["seq_key", "mean_loss_a", "mean_loss_b", "label_quality_a", "label_quality_b"])
        print_result(result, out)
