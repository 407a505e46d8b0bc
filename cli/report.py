"""`lossdb report` and `lossdb plot`: the run as an HTML page and as figures."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer


from .common import CountOption, DbOption, ForceOption, LabelsOption, RunOption, app, errors, open_store, parse_count


@app.command()
def report(
    run: RunOption = None,
    against: Annotated[Optional[str], typer.Option("--against", help="Another run: add the sequences whose loss changed most.")] = None,
    n: CountOption = "50",
    labels: LabelsOption = "gold",
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.")] = Path("report.html"),
    db: DbOption = None,
    force: ForceOption = False,
) -> None:
    """Write a run's report: one self-contained HTML file to open in any browser."""
    with errors({"path": "--out", "run_a": "--against", "run_b": "--run"}):  # compare(against, run)
        count = parse_count(n)
        from lossdb import report as reports

        reports.check_path(out, force=force)  # before the queries, not after
        started = time.perf_counter()
        built = open_store(db).report(count, run=run, against=against, labels=labels)
        path = built.save(out, force=force)
        typer.echo(f"lossdb: wrote {path} (run {built.run}, {len(built.html.encode()) / 1024:.0f} KiB) "
                   f"in {time.perf_counter() - started:.1f}s", err=True)


@app.command()
def plot(
    kind: Annotated[str, typer.Argument(metavar="KIND", help="confusion, loss-by-label or loss-hist.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Image file: .png or .svg.")],
    run: RunOption = None,
    labels: LabelsOption = "gold",
    db: DbOption = None,
    force: ForceOption = False,
) -> None:
    """Draw a figure of a run (PNG or SVG, by --out's suffix): the confusion matrix, loss by
    label, or the histogram of token losses."""
    with errors({"path": "--out", "kind": None}):
        from lossdb import plots

        plots.check_kind(kind)
        plots.check_out(out, force=force)
        open_store(db).plot(kind, out, run=run, labels=labels, force=force)
        typer.echo(f"lossdb: wrote {out}", err=True)
