"""`lossdb report` and `lossdb plot`: the run as an HTML page and as figures."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from lossdb.errors import UsageError

from .app import CountOption, DbOption, ForceOption, RunOption, app, errors, parse_count

PLOT_KINDS = ("confusion", "loss-by-label", "loss-hist")


@app.command()
def report(
    run: RunOption = None,
    against: Annotated[Optional[str], typer.Option("--against", help="Another run: add the sequences whose loss changed most.")] = None,
    n: CountOption = "50",
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.")] = Path("report.html"),
    db: DbOption = None,
    force: ForceOption = False,
) -> None:
    """Write a run's report: one self-contained HTML file to open in any browser."""
    with errors():
        count = parse_count(n)
        from lossdb import outfile
        from lossdb import report as reports
        from lossdb.queries import db as store_db

        outfile.check_new(out, force=force)  # before the queries, not after

        started = time.perf_counter()
        built = reports.build(store_db.connect(db), run=run, against=against, n=count)
        path = built.save(out, force=force)
        typer.echo(f"lossdb: wrote {path} (run {built.run}, {len(built.html.encode()) / 1024:.0f} KiB) "
                   f"in {time.perf_counter() - started:.1f}s", err=True)


@app.command()
def plot(
    kind: Annotated[str, typer.Argument(metavar="KIND", help="confusion, loss-by-label or loss-hist.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Image file: .png or .svg.")],
    run: RunOption = None,
    db: DbOption = None,
    force: ForceOption = False,
) -> None:
    """Draw a figure of a run (PNG or SVG, by --out's suffix): the confusion matrix, loss by
    label, or the histogram of token losses."""
    with errors():
        if kind not in PLOT_KINDS:
            raise UsageError(f"no plot named {kind!r}", f"choose one of {', '.join(PLOT_KINDS)}")
        from lossdb import plots
        from lossdb.queries import db as store_db

        plots.check_out(out, force=force)
        path = plots.save(plots.figure(store_db.connect(db), kind, run=run), out, force=force)
        typer.echo(f"lossdb: wrote {path}", err=True)
