"""`lossdb plot`: each figure is read back (the image's array, the bars' heights, the SVG's
text) and compared with numbers computed here from the token rows, independently of the
queries the figures are drawn from."""
from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections import Counter

import duckdb
import pytest

from lossdb import plots
from lossdb.queries import db as store_db

from .conftest import run_cli

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def labelled(built_store):
    """(label, pred, loss) of every labelled token of run 'wp', and the run's label names."""
    con = duckdb.connect(str(built_store), read_only=True)
    rows = con.execute("SELECT label, pred, loss FROM tokens WHERE run_id = 'wp' AND label IS NOT NULL").fetchall()
    names = con.execute("SELECT label_names FROM runs WHERE run_id = 'wp'").fetchone()[0]
    con.close()
    return rows, names


def svg_texts(path) -> list[str]:
    root = ET.parse(path).getroot()
    return ["".join(t.itertext()).strip() for t in root.iter(f"{SVG}text")]


def test_confusion_is_row_normalised_with_gold_on_rows(built_store, labelled, tmp_path):
    rows, names = labelled
    counts = Counter((label, pred) for label, pred, _ in rows)
    con = store_db.connect(built_store)
    fig = plots.figure(con, "confusion", run="wp")
    ax = fig.axes[0]
    image = ax.images[0].get_array()
    assert [t.get_text() for t in ax.get_yticklabels()] == names  # gold on rows
    assert [t.get_text() for t in ax.get_xticklabels()] == names
    for i, gold in enumerate(names):
        total = sum(counts[(gold, p)] for p in names)
        for j, pred in enumerate(names):
            want = counts[(gold, pred)] / total if total else 0.0
            assert image[i, j] == pytest.approx(want)
        if total:
            assert sum(image[i, :]) == pytest.approx(1.0)

    out = tmp_path / "confusion.svg"
    result = run_cli("plot", "confusion", "--db", str(built_store), "--out", str(out))
    assert result.returncode == 0, result.stderr
    cells = [t for t in svg_texts(out) if re.fullmatch(r"\d\.\d\d", t)]
    want = [f"{image[i, j]:.2f}" for i in range(len(names)) for j in range(len(names))]
    assert cells[:len(want)] == want  # one annotation per cell, row by row
    assert set(names) <= set(svg_texts(out))


def test_loss_by_label_bars_are_the_mean_losses(built_store, labelled, tmp_path):
    rows, _ = labelled
    losses: dict[str, list[float]] = {}
    for label, _, loss in rows:
        losses.setdefault(label, []).append(loss)
    want = {label: sum(v) / len(v) for label, v in losses.items()}

    con = store_db.connect(built_store)
    ax = plots.figure(con, "loss-by-label", run="wp").axes[0]
    shown = {tick.get_text(): bar.get_height() for tick, bar in zip(ax.get_xticklabels(), ax.patches)}
    assert shown == pytest.approx(want, rel=1e-5)

    out = tmp_path / "by-label.png"
    result = run_cli("plot", "loss-by-label", "--run", "wp", "--db", str(built_store), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    svg = tmp_path / "by-label.svg"
    assert run_cli("plot", "loss-by-label", "--db", str(built_store), "--out", str(svg)).returncode == 0
    root = ET.parse(svg).getroot()
    bars = [g for g in root.iter(f"{SVG}g") if (g.get("id") or "").startswith("patch")]
    texts = svg_texts(svg)
    assert len(bars) >= len(want)  # the bars (plus the axes background)
    assert {f"{v:.2f}" for v in want.values()} <= set(texts)  # each bar labelled with its mean
    assert set(want) <= set(texts)


def test_loss_hist_counts_every_labelled_token(built_store, labelled, tmp_path):
    rows, _ = labelled
    con = store_db.connect(built_store)
    fig = plots.figure(con, "loss-hist", run="wp")
    right, wrong = fig.axes[0].patches[:2]
    right_counts, edges = right.get_data().values, right.get_data().edges
    wrong_counts = wrong.get_data().values
    top = max(loss for _, _, loss in rows)
    assert edges[0] == 0 and edges[-1] == pytest.approx(top, rel=1e-6)
    assert sum(right_counts) == sum(label == pred for label, pred, _ in rows)
    assert sum(wrong_counts) == sum(label != pred for label, pred, _ in rows)
    width = top / (len(edges) - 1)
    want = Counter(min(math.floor(loss / width), len(edges) - 2) for _, _, loss in rows)
    assert [int(a + b) for a, b in zip(right_counts, wrong_counts)] == [want[i] for i in range(len(edges) - 1)]

    out = tmp_path / "hist.svg"
    assert run_cli("plot", "loss-hist", "--db", str(built_store), "--out", str(out)).returncode == 0
    texts = svg_texts(out)
    assert "pred = label" in texts and "pred ≠ label" in texts
    # the log axis is labelled with counts: its default labels are mathtext, printed as written
    # with the style's text.parse_math off
    assert not any("mathdefault" in t or "$" in t for t in texts), texts
    assert {"1", "10"} <= set(texts), texts


def test_plot_refuses_unknown_kinds_and_formats(built_store, tmp_path):
    bad = run_cli("plot", "pie", "--db", str(built_store), "--out", str(tmp_path / "x.png"))
    assert bad.returncode == 2 and "loss-hist" in bad.stderr
    bad = run_cli("plot", "confusion", "--db", str(built_store), "--out", str(tmp_path / "x.pdf"))
    assert bad.returncode == 2 and ".png or .svg" in bad.stderr
    assert not (tmp_path / "x.pdf").exists()
