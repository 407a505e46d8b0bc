"""`lossdb report`: one self-contained HTML file, checked as text and in a real headless
Chromium (Debian's `chromium`, driven by Playwright); the notebook displays; terminal colour."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

import lossdb
from lossdb.errors import UsageError
from lossdb.queries import db as store_db

from .conftest import PANX, PANX_MODEL, needs_shared, run_cli

CHROMIUM = Path("/usr/bin/chromium")
NASTY = '<i>&"x\'</i>'  # a token that must reach the page as text, never as markup
UNDER_CI = os.environ.get("CI") == "true"


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, built_store):
    """A copy of built_store where the worst sequence's first shown token is NASTY, plus an
    older run 'wp-b' (the same rows, total losses changed) to compare against."""
    path = tmp_path_factory.mktemp("report") / "two.duckdb"
    path.write_bytes(Path(built_store).read_bytes())
    con = store_db.connect(path, read_only=False)
    worst = con.execute("SELECT seq_id FROM top_sequences(1, p_run := 'wp')").fetchone()[0]
    con.execute("UPDATE tokens SET token = $t WHERE run_id = 'wp' AND seq_id = $s AND position = 1",
                {"t": NASTY, "s": worst})
    con.execute("INSERT INTO runs SELECT * REPLACE ('wp-b' AS run_id, created_at - INTERVAL 1 HOUR AS created_at) "
                "FROM runs WHERE run_id = 'wp'")
    con.execute("INSERT INTO sequences SELECT * REPLACE ('wp-b' AS run_id, total_loss * (1 + seq_id % 3) AS total_loss) "
                "FROM sequences WHERE run_id = 'wp'")
    con.execute("INSERT INTO tokens SELECT * REPLACE ('wp-b' AS run_id) FROM tokens WHERE run_id = 'wp'")
    from lossdb.queries import metadata

    n = con.execute("SELECT count(*) FROM sequences WHERE run_id = 'wp'").fetchone()[0]
    notes = path.parent / "notes.csv"
    notes.write_text("row,annotator\n" + "".join(f"{i},{'anna' if i % 2 else 'ben'}\n" for i in range(n)))
    metadata.annotate(con, notes, key="row", match="seq_id", run="wp")
    con.close()
    return path


@pytest.fixture(scope="module")
def report_file(two_runs, tmp_path_factory):
    out = tmp_path_factory.mktemp("html") / "report.html"
    result = run_cli("report", "--db", str(two_runs), "--run", "wp", "--against", "wp-b", "--n", "10", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stderr and result.stdout == ""
    return out


def top_records(path, n=10, by="total_loss"):
    from lossdb import queries

    con = store_db.connect(path)
    try:
        return queries.top(con, n, run="wp", by=by).records()
    finally:
        con.close()


def norm(text: str) -> str:
    """The search box's normalisation: lower case, a leading ▁ / ## / Ġ dropped."""
    return re.sub(r"^(\u2581|##|\u0120)", "", text.lower())


# --- the file -------------------------------------------------------------------------------------


def test_report_is_one_small_self_contained_file(report_file):
    text = report_file.read_text("utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert len(text.encode()) < 400_000
    assert not re.search(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:|//)""", text, re.I)
    assert "<link" not in text and "@import" not in text
    assert not re.search(r"""url\(\s*['"]?(?!#)""", text)  # only references within the page
    assert not re.search(r"<script[^>]+src", text)
    assert "default-src 'none'" in text  # the page may fetch nothing, even by mistake
    assert NASTY not in text  # escaped wherever it appears
    assert text.count("<svg") == 3  # loss by label, confusion matrix, token losses
    for anchor in ("run", "sequences", "entities", "losses", "confusion", "issues", "metadata", "compare", "histogram"):
        assert f"<section id={anchor}>" in text, anchor
    metadata = re.search(r"<section id=metadata>(.*?)</section>", text, re.S).group(1)
    assert "metadata.annotator" in metadata and ">anna<" in metadata and ">ben<" in metadata
    assert "metadata.row" not in metadata  # the key column is not a grouping
    assert "wp-b" in text and lossdb.__version__ in text


def test_report_issues_show_what_lossdb_issues_shows(report_file, two_runs):
    """The report printed cleanlab's token flags beside n_suspects, which counts the entity-level
    suspects: counts with an empty cell, and suspects of `lossdb issues` missing."""
    import html as html_lib

    section = re.search(r"<section id=issues>(.*?)</section>", report_file.read_text("utf-8"), re.S).group(1)
    cells = [[html_lib.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
             for row in re.findall(r"<tr>(.*?)</tr>", section, re.S)]
    cells = [c for c in cells if c]
    header = [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<th[^>]*>(.*?)</th>", section, re.S)]
    cli = json.loads(run_cli("issues", "--run", "wp", "--n", str(len(cells)), "-f", "json", "--db", str(two_runs)).stdout)
    assert len(cells) == len(cli) >= 5 and any(r["n_suspects"] for r in cli)
    for row, want in zip(cells, cli):
        shown = dict(zip(header, row))
        assert int(shown["seq_id"]) == want["seq_id"]
        assert shown["suspected"] == "; ".join(s["text"] for s in want["suspected"]), (row, want["suspected"])
        assert int(shown["n_suspects"]) == want["n_suspects"] == len(want["suspected"])


def test_report_refuses_bad_options(two_runs, tmp_path):
    same = run_cli("report", "--db", str(two_runs), "--run", "wp", "--against", "wp", "--out", str(tmp_path / "r.html"))
    assert same.returncode == 2 and "--against" in same.stderr
    missing = run_cli("report", "--db", str(two_runs), "--run", "nope", "--out", str(tmp_path / "r.html"))
    assert missing.returncode == 4 and "nope" in missing.stderr
    folder = run_cli("report", "--db", str(two_runs), "--out", str(tmp_path / "no" / "r.html"))
    assert folder.returncode == 2 and "does not exist" in folder.stderr
    zero = run_cli("report", "--db", str(two_runs), "--n", "0", "--out", str(tmp_path / "r.html"))
    assert zero.returncode == 2
    assert not (tmp_path / "r.html").exists()


def test_report_and_plot_do_not_import_the_ml_stack(built_store, tmp_path):
    code = ("import sys; from lossdb.cli.app import main; sys.argv = ['lossdb'] + sys.argv[1:]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('torch', 'transformers', 'datasets') if m in sys.modules]\n"
            "print('HEAVY', heavy, file=sys.stderr)")
    for args in (["report", "--n", "2", "--out", str(tmp_path / "r.html")], ["plot", "loss-hist", "--out", str(tmp_path / "h.png")]):
        result = subprocess.run([sys.executable, "-c", code, *args, "--db", str(built_store)], capture_output=True, text=True)
        assert "HEAVY []" in result.stderr, (args, result.stderr)
        assert "wrote" in result.stderr


# --- in a browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        if UNDER_CI:
            pytest.fail("CI=true but /usr/bin/chromium is missing: .ci/run installs Debian's chromium")
        pytest.skip("no /usr/bin/chromium (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if UNDER_CI:
            pytest.fail("CI=true but playwright is not installed (pip install -e '.[test]')")
        pytest.skip("playwright is not installed")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM),
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield chromium
        chromium.close()


def open_page(browser, path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems, requests = [], []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("request", lambda r: requests.append(r.url))
    page.on("dialog", lambda d: problems.append(f"dialog: {d.message}"))
    page.goto(path.as_uri())
    page.wait_for_selector("#seqs li.seq")
    return page, problems, requests


def test_report_in_chromium(browser, report_file, two_runs, tmp_path):
    page, problems, requests = open_page(browser, report_file)
    records = top_records(two_runs)

    # The worst sequence: its tokens in order (first special token dropped, as `lossdb top`
    # shows them), each with its loss to two decimals; the planted markup shows as text.
    first = page.locator("#seqs li.seq").first
    assert first.get_attribute("data-seq") == str(records[0]["seq_id"])
    assert first.locator(".tok .txt").all_inner_texts() == records[0]["tokens"][1:]
    assert first.locator(".tok .loss").all_inner_texts() == [f"{x:.2f}" for x in records[0]["losses"][1:]]
    assert first.locator(".tok .txt").first.inner_text() == NASTY
    assert first.locator(".tok .txt i").count() == 0
    assert page.locator("#seqs li.seq").count() == len(records)

    # Hover or focus: label, prediction, loss and the most probable classes.
    first.locator(".tok").nth(1).focus()
    tip = page.locator("#tip")
    assert tip.is_visible()
    tip_text = tip.inner_text()
    for part in (records[0]["labels"][2], records[0]["preds"][2], f"{records[0]['losses'][2]:.4f}"):
        assert part in tip_text
    assert len(re.findall(r"\b0\.\d{3}\b|\b1\.000\b", tip_text)) == 3

    # Search: typing a token keeps exactly the sequences that contain it (token or word).
    query = next(t for t in records[0]["tokens"][1:] if t != NASTY and norm(t).isalpha() and
                 sum(norm(t) in {norm(x) for x in r["tokens"]} for r in records) < len(records))
    want = [str(r["seq_id"]) for r in records if norm(query) in {norm(x) for x in r["tokens"][1:]}
            or norm(query) in {norm(w) for w in sequence_words(two_runs, r["seq_id"])}]
    page.fill("#search", query)
    shown = page.locator("#seqs li.seq:not([hidden])")
    assert [shown.nth(i).get_attribute("data-seq") for i in range(shown.count())] == want
    assert 0 < len(want) < len(records)
    page.fill("#search", "")
    assert page.locator("#seqs li.seq:not([hidden])").count() == len(records)

    # Ranking by mean loss / label quality reorders the list.
    for by in ("mean_loss", "label_quality"):
        page.click(f'button[data-by="{by}"]')
        ids = page.locator("#seqs li.seq").evaluate_all("els => els.map(e => e.dataset.seq)")
        assert ids == [str(r["seq_id"]) for r in top_records(two_runs, by=by)]

    # Sortable tables: sorting by a numeric column orders its rows by value.
    table = page.locator("#losses table").first
    column = table.locator("thead th").all_inner_texts().index("mean")
    table.locator("thead th").nth(column).click()
    values = [float(v) for v in table.locator(f"tbody tr td:nth-child({column + 1})").evaluate_all(
        "els => els.map(e => e.dataset.v)")]
    assert values == sorted(values)

    assert page.locator("#compare tbody tr").count() == 10  # --n 10
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    assert problems == []
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
    page.close()


def sequence_words(path, seq_id):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("SELECT words FROM sequences WHERE run_id = 'wp' AND seq_id = $s", {"s": seq_id}).fetchone()[0]
    finally:
        con.close()


@needs_shared
def test_panx_report_shows_the_un_mission_as_per_gold_and_org_predicted(tmp_path):
    """The book's example: the UN mission, tagged as a person in PAN-X, predicted as an
    organisation by the shared model."""
    sentences = PANX.read_text("utf-8").split("\n\n")
    un = next(i for i, s in enumerate(sentences) if "\tMultidimensional\t" in s)
    sample = tmp_path / "un.conllu"
    sample.write_text("\n\n".join(sentences[un - 2:un + 2]) + "\n", "utf-8")
    from lossdb.ingest import ingest

    db = tmp_path / "panx.duckdb"
    ingest(str(PANX_MODEL), str(sample), db=str(db), run="panx", progress=False)
    store = lossdb.connect(db)
    text = store.report(n=4).html
    data = json.loads(re.search(r'<script type="application/json" id=data>(.*?)</script>', text, re.S).group(1))
    seq = next(s for s in data["seqs"].values() if "Multidimensional" in s["w"])
    last = len(seq["t"]) - 2  # the span ends before [SEP]
    assert seq["gs"] == [[0, last, "PER"]]
    assert [0, last, "ORG"] in seq["ps"]
    assert seq["t"][:2] == ["united", "nations"]


# --- notebook and terminal ------------------------------------------------------------------------


def test_store_report_and_shaded_frames(built_store, tmp_path):
    store = lossdb.connect(built_store)
    built = store.report(n=3)
    html = built._repr_html_()
    assert html.startswith("<iframe") and "srcdoc=" in html and "<script" not in html.split("srcdoc=")[0]
    assert built.save(tmp_path / "r.html").read_text("utf-8") == built.html

    top = store.top(3)
    assert list(top["seq_id"]) == [r["seq_id"] for r in top_records(built_store, 3)]
    shaded = top._repr_html_()
    assert "background-color: rgba(203, 45, 62" in shaded and str(top["seq_id"][0]) in shaded

    frames = list(store.samples(3))
    frame = frames[0]
    with pytest.raises(UsageError, match="n must be"):
        store.samples(0)  # refused at the call, not at the first next()
    assert list(frame.index) == ["tokens", "labels", "preds", "losses"]
    cells = frame._repr_html_()
    # One scale for the three: the highest loss among them is the full red.
    scale = max(float(x) for r in top_records(built_store, 3) for x in r["losses"][1:])
    worst = max(frame.loc["losses"], key=float)
    assert f"background-color: rgba(203, 45, 62, {min(1.0, float(worst) / scale):.3f})" in cells
    assert f">{worst}</td>" in cells
    assert all("background-color" in f._repr_html_() for f in frames)
    assert type(frame.iloc[:, :2]).__name__ == "DataFrame"  # derived frames are plain
    # .T too (pandas builds it with type(self)): read down, it displays as any DataFrame
    for derived in (frame.T, frame.transpose(), top.T):
        assert type(derived).__name__ == "DataFrame" and "<table" in derived._repr_html_()


def test_top_colours_losses_on_a_terminal_only(built_store):
    plain = run_cli("top", "--n", "2", "--db", str(built_store))
    assert plain.returncode == 0 and "\x1b[" not in plain.stdout
    coloured = run_cli("top", "--n", "2", "--db", str(built_store), env={"FORCE_COLOR": "1", "TERM": "xterm-256color"})
    assert coloured.returncode == 0 and "\x1b[" in coloured.stdout
    strip = re.sub(r"\x1b\[[0-9;]*m", "", coloured.stdout)
    assert strip == plain.stdout  # the same table, only coloured
    assert "\x1b[" not in run_cli("top", "--n", "2", "--db", str(built_store), env={"FORCE_COLOR": "1", "NO_COLOR": "1"}).stdout


def test_report_and_plot_judge_against_a_label_version(store_copy, tmp_path):
    import json

    exported = tmp_path / "all.jsonl"
    assert run_cli("export", "--to", "jsonl", "--all", "--out", str(exported), "--db", str(store_copy)).returncode == 0
    rows = [json.loads(line) for line in exported.read_text().splitlines()]
    rows[0]["labels"] = rows[0]["preds"]  # the model's tags: sequence 0's errors go under the version
    exported.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert run_cli("import-labels", str(exported), "--as", "fixed", "--db", str(store_copy)).returncode == 0
    with lossdb.connect(store_copy) as store:
        gold, fixed = store.report(5), store.report(5, labels="fixed")
        want = store.top(5, labels="fixed")["seq_id"].tolist()
        errors = store.sql("SELECT count(*) FILTER (WHERE label IS NOT NULL AND pred <> label) AS n "
                           "FROM token_labels('wp', p_labels := 'fixed')")["n"].iloc[0]
    assert "judged against" in fixed.html and "label version fixed" in fixed.html and "judged against" not in gold.html
    assert fixed.html != gold.html
    from lossdb import report
    from lossdb.queries import display

    with lossdb.connect(store_copy) as store:
        assert [r["seq_id"] for r in report.collect(store.con, n=5, labels="fixed")["tops"]["total_loss"]] == want
        histogram = display.loss_histogram(store.con, labels="fixed").records()
        details = {d["seq_id"]: d for d in display.sequence_details(store.con, [0], labels="fixed").records()}
    assert sum(b["n_wrong"] for b in histogram) == errors and details[0]["n_errors"] == 0
    # each figure names its run and the version it is judged by (they all said 'gold label')
    with lossdb.connect(store_copy) as store:
        for kind in ("confusion", "loss-by-label", "loss-hist"):
            axes = store.plot(kind, labels="fixed").axes[0]
            texts = [axes.get_title(), axes.get_xlabel(), axes.get_ylabel()]
            assert "run wp, labels fixed" in texts[0] and not any("gold" in t for t in texts), (kind, texts)
            assert any("label of version fixed" in t for t in texts), (kind, texts)
            gold_axes = store.plot(kind).axes[0]
            assert gold_axes.get_title().endswith("run wp") and "labels" not in gold_axes.get_title(), kind
    assert "label of version fixed" in fixed.html and "label of version" not in gold.html
    result = run_cli("plot", "loss-hist", "--labels", "fixed", "--out", str(tmp_path / "h.png"), "--db", str(store_copy))
    assert result.returncode == 0 and (tmp_path / "h.png").stat().st_size > 0, result.stderr
    missing = run_cli("report", "--labels", "nope", "--out", str(tmp_path / "r.html"), "--db", str(store_copy))
    assert missing.returncode == 4 and "no label version 'nope'" in missing.stderr and not (tmp_path / "r.html").exists()
