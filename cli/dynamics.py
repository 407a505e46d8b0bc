"""Training dynamics on the command line (issue #15): `lossdb dynamics` and `lossdb datamap`
over a group of runs, and the group rankings that `lossdb issues --group` prints. Thin:
parse, call the Store, format."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from lossdb.errors import UsageError
from lossdb.queries.result import Result

from .common import DbOption, ForceOption, FormatOption, app, check_format, errors, open_store, parse_count, print_result

GroupOption = Annotated[str, typer.Option("--group", "-g", help="The group of runs (lossdb ingest --group, or LossdbCallback's group).")]

# What the table shows of a sequence's dynamics; json and csv carry every column.
TABLE_COLUMNS = ("rank", "seq_id", "confidence", "variability", "correctness", "forgetting", "aum", "min_aum",
                 "min_confidence", "worst_word", "worst_label", "worst_pred", "region", "text")


def note_one_run(store, group: str) -> None:
    """Dynamics over one run say nothing of training: variability and forgetting are 0 for all."""
    n_runs = next((g["n_runs"] for g in store.groups().records() if g["group_name"] == group), None)
    if n_runs == 1:
        typer.echo(f"lossdb: note: group {group!r} has one run so far; variability and forgetting need two or more "
                   "(every sequence's are 0)", err=True)


def print_ranked(result: Result, out: str) -> None:
    """Sequences ranked by a group method: every column in json / csv, the main ones in a table."""
    if out in ("json", "csv"):
        print_result(result, out)
        return
    print_result(result.select(TABLE_COLUMNS), out)


@app.command()
def dynamics(
    group: GroupOption,
    n: Annotated[Optional[str], typer.Option("--n", "-n", metavar="N", help="How many sequences [default: 20].", show_default=False)] = None,
    method: Annotated[Optional[str], typer.Option("--method", help="aum (default), confidence, correctness (worst word, lowest first), forgetting or variability (highest first).")] = None,
    seq_id: Annotated[Optional[int], typer.Option("--seq-id", help="Instead: every labelled word of this sequence.")] = None,
    db: DbOption = None,
    format: FormatOption = "table",
) -> None:
    """Training dynamics across a group's runs, per sequence (most suspect first) or per word:
    confidence, variability, correctness, forgetting events and AUM."""
    with errors():
        count, out = (parse_count(n) if n is not None else None), check_format(format)
        store = open_store(db)
        if seq_id is not None:
            result = store.dynamics(group, seq_id=seq_id, n=count, method=method)  # (which refuses n and method)
            note_one_run(store, group)
            print_result(result, out)
            return
        note_one_run(store, group)
        print_ranked(store.dynamics(group, n=20 if count is None else count, method=method), out)


@app.command()
def datamap(
    group: GroupOption,
    out: Annotated[Path, typer.Option("--out", "-o", help="Image file: .png or .svg.")] = Path("datamap.png"),
    db: DbOption = None,
    force: ForceOption = False,
) -> None:
    """Draw the data map of a group: variability (x) against confidence (y) per sequence,
    coloured by correctness, with the easy / ambiguous / hard-to-learn regions."""
    with errors({"path": "--out"}):
        store = open_store(db)
        note_one_run(store, group)
        store.datamap(group, out, force=force)
        typer.echo(f"lossdb: wrote {out}", err=True)


def issues_for_group(*, group: str, count: int, method: str, db, out: str, run=None, seq_id=None,
                     labels: str = "gold") -> None:
    """`lossdb issues --group G`: the sequences a group's training dynamics rank as suspect."""
    if labels != "gold":  # (it was ignored)
        raise UsageError(f"--group ranks by training dynamics, which are judged against the gold labels the runs "
                         f"were scored with, not --labels {labels}", "leave out --labels, or --group for one run's issues")
    if run is not None:
        raise UsageError("--group ranks across the group's runs, --run ranks one run", "pass one of them")
    if seq_id is not None:
        raise UsageError("--seq-id with --group: a sequence's words across the group's runs",
                         f"use lossdb dynamics --group {group} --seq-id {seq_id}")

    store = open_store(db)
    note_one_run(store, group)
    print_ranked(store.dynamics(group, n=count, method=method), out)


@app.command()
def groups(db: DbOption = None, format: FormatOption = "table") -> None:
    """The run groups in the store (ingest --group, LossdbCallback), with their number of runs."""
    with errors():
        out = check_format(format)
        found = open_store(db).groups()
        print_result(found, out)
        if not found.rows and out == "table":
            typer.echo("lossdb: this store has no run groups; make one with `lossdb ingest --group NAME` "
                       "or the training callback (LossdbCallback)", err=True)
