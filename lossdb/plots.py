"""Figures of a run: the confusion matrix, loss by label and the histogram of token losses.

Each function takes the Result of the query the CLI prints as a table and returns a
matplotlib Figure drawn from exactly those numbers; `save` writes it as PNG or SVG (by the
file's suffix) and `svg` returns it as inline SVG text for the HTML report.

    >>> from lossdb import plots, queries
    >>> fig = plots.loss_hist(queries.display.loss_histogram(con))
    >>> plots.save(fig, "loss-hist.png")

matplotlib is imported only here, only when a figure is made, and never through pyplot:
figures are plain ``matplotlib.figure.Figure`` objects on the Agg canvas, so nothing changes
the backend of a notebook that imports lossdb.
"""
from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any, Sequence

from lossdb import outfile
from lossdb.errors import UsageError
from lossdb.palette import LOSS_RGB, OK_RGB, hex_colour
from lossdb.queries import analysis, core, display, dynamics

KINDS = ("confusion", "loss-by-label", "loss-hist")
SUFFIXES = (".png", ".svg")

_LOSS = hex_colour(LOSS_RGB)
_OK = hex_colour(OK_RGB)
_STYLE = {
    "font.size": 10, "axes.titlesize": 12, "axes.labelsize": 10, "xtick.labelsize": 9, "ytick.labelsize": 9,
    "axes.spines.top": False, "axes.spines.right": False, "svg.fonttype": "none", "svg.hashsalt": "lossdb",
    # Tag names, version and run names are the user's text: '$x$' in one is not math to typeset
    # (and a lone '$' or '$\\foo$' would crash the drawing).
    "text.parse_math": False,
}


def _figure(width: float, height: float):
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_STYLE):
        fig = Figure(figsize=(width, height), layout="constrained")
        FigureCanvasAgg(fig)
    return fig


def _columns(result, *names: str) -> list[list[Any]]:
    missing = [n for n in names if n not in result.columns]
    if missing:
        raise UsageError(f"the result has no column {missing[0]!r} to plot", f"its columns: {', '.join(result.columns)}")
    return [result.column(n) for n in names]


def _nothing(fig, what: str):
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.text(0.5, 0.5, what, ha="center", va="center", transform=ax.transAxes)
    return fig


# --- the figures ----------------------------------------------------------------------------------


def confusion_matrix(result, *, labels: Sequence[str] | None = None) -> tuple[list[str], list[list[float]]]:
    """(labels, shares) from a long confusion result (label, pred and fraction, or count / n):
    shares[i][j] is the share of the tokens with gold label i that were predicted j (the
    result's `fraction` where it has one, else its counts divided by their row's total);
    labels in `labels` order, else in the order first seen."""
    value = next((c for c in ("fraction", "count", "n") if c in result.columns), "fraction")
    gold, pred, cell = _columns(result, "label", "pred", value)
    order = list(labels or [])
    for name in [*gold, *pred]:
        if name not in order:
            order.append(name)
    at = {name: i for i, name in enumerate(order)}
    matrix = [[0.0] * len(order) for _ in order]
    for g, p, v in zip(gold, pred, cell):
        matrix[at[g]][at[p]] += float(v or 0)
    return order, matrix if value == "fraction" else normalise_rows(matrix)


def normalise_rows(counts: list[list[float]]) -> list[list[float]]:
    """Each row divided by its sum (a row of zeros stays zeros)."""
    return [[c / sum(row) if sum(row) else 0.0 for c in row] for row in counts]


def label_axis(version: str = core.GOLD) -> str:
    """What the labels a figure is judged by are called on its axes: 'gold label', or the version's."""
    return "gold label" if version in (None, core.GOLD) else f"label of version {version}"


def confusion(result, *, labels: Sequence[str] | None = None, title: str = "Confusion matrix (row-normalised)",
              version: str = core.GOLD):
    """Row-normalised confusion matrix, labels (gold, or label version `version`) on rows,
    predictions on columns; each cell is annotated with its share of the row (two decimals)."""
    names, share = confusion_matrix(result, labels=labels)
    size = max(4.0, 0.55 * len(names) + 2.0)
    fig = _figure(size + 0.8, size)
    if not names:
        return _nothing(fig, "no labelled tokens")
    import matplotlib

    with matplotlib.rc_context(_STYLE):
        ax = fig.add_subplot()
        image = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0, interpolation="nearest", aspect="equal")
        ax.set_xticks(range(len(names)), names, rotation=90)
        ax.set_yticks(range(len(names)), names)
        ax.set_xlabel("predicted label")
        ax.set_ylabel(label_axis(version))
        ax.set_title(title)
        ax.spines[:].set_visible(False)
        for i, row in enumerate(share):
            for j, value in enumerate(row):
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8,
                        color="white" if value > 0.6 else "#1a1a1a")
        fig.colorbar(image, ax=ax, shrink=0.8, label=f"share of the {label_axis(version)}'s tokens")
    return fig


def loss_by_label(result, *, value: str = "mean", title: str | None = None, version: str = core.GOLD):
    """One bar per label (gold, or label version `version`), in the result's order: its `value`
    (the mean loss by default), labelled with the number."""
    names, values = _columns(result, "label", value)
    fig = _figure(max(5.0, 0.6 * len(names) + 2.0), 3.8)
    if not names:
        return _nothing(fig, "no labelled tokens")
    import matplotlib

    with matplotlib.rc_context(_STYLE):
        ax = fig.add_subplot()
        heights = [float(v or 0.0) for v in values]
        bars = ax.bar([str(n) for n in names], heights, color=_LOSS)
        ax.bar_label(bars, labels=[f"{h:.2f}" for h in heights], padding=2, fontsize=8)
        ax.set_xlabel(label_axis(version))
        ax.set_ylabel(f"{value} loss" if value in ("mean", "sum") else value.replace("_", " "))
        ax.set_title(title or (f"{value.capitalize()} loss by {label_axis(version)}" if value in ("mean", "sum")
                               else f"{value.replace('_', ' ').capitalize()} by {label_axis(version)}"))
        ax.tick_params(axis="x", rotation=45 if len(names) > 8 else 0)
        ax.margins(y=0.12)
    return fig


def loss_hist(result, *, title: str = "Loss of labelled tokens", version: str = core.GOLD):
    """Histogram of token losses (counts on a log scale), as two filled step outlines drawn over
    each other: tokens the model predicted right and tokens it got wrong."""
    lo, hi, right, wrong = _columns(result, "lo", "hi", "n_correct", "n_wrong")
    fig = _figure(6.4, 3.8)
    if not lo or not any(right) and not any(wrong):
        return _nothing(fig, "no labelled tokens")
    import matplotlib
    import matplotlib.ticker

    with matplotlib.rc_context(_STYLE):
        ax = fig.add_subplot()
        edges = [*lo, hi[-1]]
        ax.stairs(right, edges, fill=True, color=_OK, alpha=0.6, label="pred = label")
        ax.stairs(wrong, edges, fill=True, color=_LOSS, alpha=0.7, label="pred ≠ label")
        ax.set_yscale("log")
        # the log axis' own labels are mathtext ("$\\mathdefault{10^{3}}$"), which the style's
        # text.parse_math (off, so that a '$' in a tag name stays text) would print as written
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1 else f"{v:g}"))
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_ylim(bottom=0.7)
        ax.set_xlim(0, edges[-1])
        ax.set_xlabel(f"token loss (cross-entropy of the {label_axis(version)})")
        ax.set_ylabel("tokens")
        ax.set_title(title)
        ax.legend(frameon=False)
    return fig


def datamap(result, *, variability: float = 0.2, confidence: float = 0.5, title: str = "Data map"):
    """Dataset cartography (Swayamdipta et al. 2020): one point per sequence at (variability,
    confidence), coloured by correctness, over the three regions group_sequence_dynamics
    names (ambiguous right of `variability`; left of it easy-to-learn above `confidence`,
    hard-to-learn below). The points are the figure's first collection, in the result's order."""
    xs, ys, colour = _columns(result, "variability", "confidence", "correctness")
    fig = _figure(6.4, 5.0)
    if not xs:
        return _nothing(fig, "no sequences")
    import matplotlib

    with matplotlib.rc_context(_STYLE):
        ax = fig.add_subplot()
        points = ax.scatter([float(x) for x in xs], [float(y) for y in ys], c=[float(c) for c in colour],
                            cmap="RdYlGn", vmin=0.0, vmax=1.0, s=14, alpha=0.8, edgecolors="none")
        right = max(0.5, max(float(x) for x in xs) * 1.05)
        ax.set_xlim(0, right)
        ax.set_ylim(0, 1.02)
        ax.axvline(variability, color=_OK, linewidth=0.8, linestyle="--")
        ax.hlines(confidence, 0, variability, color=_OK, linewidth=0.8, linestyle="--")
        for x, y, name in ((variability / 2, 0.98, "easy-to-learn"), (variability / 2, 0.03, "hard-to-learn"),
                           ((variability + right) / 2, 0.5, "ambiguous")):
            ax.text(x, y, name, ha="center", va="center", fontsize=9, color="#444444")
        ax.set_xlabel("variability (std of the gold label's probability across runs)")
        ax.set_ylabel("confidence (mean gold label probability)")
        ax.set_title(title)
        fig.colorbar(points, ax=ax, shrink=0.8, label="correctness (share of runs right)")
    return fig


# --- from a store ----------------------------------------------------------------------------------


def datamap_figure(con, group: str, path: str | Path | None = None, *, force: bool = False):
    """The data map of run group `group` (lossdb.queries.dynamics.datamap) as a Figure; written
    to `path` (.png or .svg) if given (an existing file is replaced only with `force`)."""
    if path is not None:
        check_out(path, force=force)
    fig = datamap(dynamics.datamap(con, group), title=f"Data map of group {group}")
    if path is not None:
        save(fig, path, force=force)
    return fig


def evaluation_figure(con, truth: str, path=None, *, run: str | None = None, labels: str = core.GOLD,
                      methods: list[str] | None = None, force: bool = False):
    """The precision-recall curves of every method against version `truth` on one matplotlib
    Figure (lossdb.plots' style; the default drawn thicker), saved to `path` (.png or .svg;
    an existing file is replaced only with `force`)."""
    import matplotlib

    if path is not None:
        check_out(path, force=force)
    with matplotlib.rc_context(_STYLE):  # the style's text.parse_math: a '$' in a name is text
        fig = _draw_evaluation(con, truth, run=run, labels=labels, methods=methods)
    if path is not None:
        save(fig, path, force=force)
    return fig


def _draw_evaluation(con, truth: str, *, run, labels, methods):
    import numpy as np

    from lossdb.queries import rankings  # numpy loads here, not for every command

    run_id, labels = analysis.run_labels(con, run, labels)
    truth = core.check_labels(con, run_id, truth, "truth")
    table = rankings.evaluate(con, truth, run=run_id, labels=labels, methods=methods).records()
    scores, y = rankings._scores_and_truth(con, run_id, labels, truth)
    fig = _figure(8.5, 4.5)
    ax = fig.add_subplot()
    drawn = []  # (AP, not the default, line): the legend lists them best first
    for r in sorted(table, key=lambda r: r["default"]):  # the default last, on top of the others
        s = rankings.suspicion(scores[r["method"]], descending=r["method"] in rankings.DESCENDING)
        order = np.argsort(-s, kind="stable")
        ys, ss = y[order], s[order]
        last = np.r_[np.flatnonzero(np.diff(ss) != 0), len(ss) - 1]
        tps = np.cumsum(ys)[last]
        line, = ax.step(np.r_[0.0, tps / y.sum()], np.r_[1.0, tps / (last + 1)], where="pre",
                        linewidth=2.4 if r["default"] else 1.2, zorder=3 if r["default"] else 2,
                        label=f"{r['method']}{' (default)' if r['default'] else ''}  AP {r['auprc']:.3f}")
        drawn.append((r["auprc"], not r["default"], line))
    share = float(y.mean())  # what a random order reaches: the positives' share, at every recall
    drawn.append((share, True, ax.axhline(share, color="0.5", linestyle="--", linewidth=1, zorder=1,
                                          label=f"random order  AP {share:.3f}")))
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1.01)
    ax.set_ylim(0, 1.03)
    ax.set_title(f"Finding the corrections of {truth!r} (run {run_id})")
    lines = [line for *_, line in sorted(drawn, key=lambda d: (-d[0], d[1]))]  # best first, the default first of equals
    ax.legend(lines, [line.get_label() for line in lines], loc="upper left", bbox_to_anchor=(1.02, 1.0),
              fontsize=8, borderaxespad=0)  # beside the curves, never over them
    return fig


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise UsageError(f"no plot named {kind!r}", f"choose one of {', '.join(KINDS)}", parameter="kind")
    return kind


def data(con, kind: str, *, run: str | None = None, labels: str = core.GOLD):
    """The Result that figure `kind` is drawn from: the table its command prints
    (confusion_long, loss_by_label, loss_histogram)."""
    check_kind(kind)
    if kind == "confusion":
        return analysis.confusion_long(con, run=run, labels=labels)
    if kind == "loss-by-label":
        return analysis.loss_by_label(con, run=run, labels=labels)
    return display.loss_histogram(con, run=run, labels=labels)


def figure(con, kind: str, *, run: str | None = None, labels: str = core.GOLD):
    """Figure `kind` of `run` (default: the newest complete run), drawn from `data`, judged
    against label version `labels`."""
    result = data(con, kind, run=run, labels=labels)
    run_id, version = core.resolve_run(con, run), labels or core.GOLD
    # a figure names its run and the labels it is judged by, or two of them look alike
    about = f"run {run_id}" + ("" if version == core.GOLD else f", labels {version}")
    if kind == "confusion":
        return confusion(result, labels=core.label_names(con, run_id), version=version,
                         title=f"Confusion matrix (row-normalised), {about}")
    if kind == "loss-by-label":
        return loss_by_label(result, version=version, title=f"Mean loss by {label_axis(version)}, {about}")
    return loss_hist(result, version=version, title=f"Loss of labelled tokens, {about}")


# --- output ---------------------------------------------------------------------------------------


def check_out(path: str | Path, *, force: bool = False) -> Path:
    """`path` if a figure may be written there: .png or .svg, and (lossdb.outfile's rule) not
    an existing file unless `force`."""
    out = Path(path)
    if out.suffix.lower() not in SUFFIXES:
        raise UsageError(f"cannot tell the image format of {str(out)!r}", "end the file name in .png or .svg",
                         parameter="path")
    return outfile.check_new(out, force=force)


def save(fig, path: str | Path, *, force: bool = False) -> Path:
    """Write `fig` as PNG or SVG, chosen by the suffix of `path`; the file appears whole or not
    at all, and replaces an existing one only with `force`."""
    out = check_out(path, force=force)
    import matplotlib

    with matplotlib.rc_context(_STYLE), outfile.replacing(out, force=force) as tmp:
        fig.savefig(tmp, format=out.suffix.lower()[1:], dpi=150, metadata=_metadata(out.suffix.lower()))
    return out


def svg(fig) -> str:
    """`fig` as an <svg> element to paste into HTML: text kept as text, no XML prologue, no
    doctype, no external reference."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context(_STYLE):
        fig.savefig(buffer, format="svg", metadata=_metadata(".svg"))
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    return text


def _metadata(suffix: str) -> dict:
    # No dates or software versions in the files: the same store gives the same bytes.
    if suffix == ".svg":
        return {"Date": None, "Creator": None}
    return {"Software": None}
