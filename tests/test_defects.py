"""Issue 17 (nothing lost, round two), one test per item this module fixes, on real stores:
2 replacing a run with label versions, 3 merge carrying versions and metadata, 5 annotate paths
with glob characters, 9 '$' in tag names, 10 control characters in tables, 11 NFC / NFD words,
12 full disks and damaged store files, 13 one rule for every file a command writes."""
from __future__ import annotations

import json
import shutil
import subprocess
import unicodedata
from pathlib import Path

import duckdb
import pytest

from lossdb import demo, plots
from lossdb.errors import DiskFullError, InputError, OutputError, StoreError, UsageError
from lossdb.ingest import ingest
from lossdb.ingest.merge import merge
from lossdb.queries import analysis, metadata
from lossdb.queries import db as store_db

from .conftest import run_cli, version_scores


def rows(path, query: str, params: dict | None = None) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(query, params or {}).fetchall()
    finally:
        con.close()


def add_version(path, run: str, version: str, seq_ids: list[int]) -> None:
    """A label version of `run` that relabels the first word of each of `seq_ids` (as
    import-labels stores one: a label_versions row, sequence_labels rows for the changed ones)."""
    con = duckdb.connect(str(path))
    try:
        for seq_id in seq_ids:
            labels = con.execute("SELECT labels FROM sequences WHERE run_id = $r AND seq_id = $s",
                                 {"r": run, "s": seq_id}).fetchone()[0]
            labels[0] = "B-LOC" if labels[0] != "B-LOC" else "O"
            con.execute("INSERT INTO sequence_labels VALUES ($r, $v, $s, $l)",
                        {"r": run, "v": version, "s": seq_id, "l": labels})
        con.execute("INSERT INTO label_versions VALUES ($r, $v, now(), 'review.json', $n)",
                    {"r": run, "v": version, "n": len(seq_ids)})
    finally:
        con.close()


def versions_of(path, run: str) -> tuple[list, list]:
    return (rows(path, "SELECT version, n_changed FROM label_versions WHERE run_id = $r ORDER BY 1", {"r": run}),
            rows(path, "SELECT version, seq_id, labels FROM sequence_labels WHERE run_id = $r ORDER BY 1, 2", {"r": run}))


def one_error_line(result, *needles: str, code: int | None = None) -> str:
    assert result.returncode != 0 and (code is None or result.returncode == code), (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lossdb: error: "), result.stderr
    assert "internal error" not in lines[0] and "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


# --- 2: ingest --replace and label versions -------------------------------------------------------------


def test_replace_asks_what_becomes_of_label_versions(store_copy, wordpiece_model, conll_file, sentences, tmp_path):
    add_version(store_copy, "wp", "fixed", [3, 7])
    before = versions_of(store_copy, "wp")
    args = ["ingest", "-m", wordpiece_model, "-d", str(conll_file), "--run", "wp", "--replace", "-q",
            "--db", str(store_copy)]

    refused = run_cli(*args)
    one_error_line(refused, "'fixed'", "--label-versions", code=4)
    assert versions_of(store_copy, "wp") == before

    # keep: the same data scored again, the corrections stay, and the summary says so
    kept = run_cli(*args, "--label-versions", "keep")
    assert kept.returncode == 0, kept.stderr
    assert "replaced the earlier run, kept its label version 'fixed'" in kept.stderr
    assert versions_of(store_copy, "wp") == before
    assert rows(store_copy, "SELECT count(*) FROM runs WHERE run_id = 'wp'") == [(1,)]
    stored, fresh = version_scores(store_copy, "wp", "fixed")  # rescored against the new rows
    assert len(stored) == 60 and stored == pytest.approx(fresh, abs=1e-12)

    # keep, but the new data changed a sequence's words: refused, nothing changed
    changed = [(list(w), list(t)) for w, t in sentences]
    changed[7][0][0] = changed[7][0][0] + "x"
    other = demo.write_conll(changed, tmp_path / "changed.conll")
    runs_before = rows(store_copy, "SELECT created_at FROM runs WHERE run_id = 'wp'")
    refused = run_cli(*args[:4], str(other), *args[5:], "--label-versions", "keep")
    one_error_line(refused, "sequence 7 has other words", "'fixed'", "--label-versions drop", code=4)
    assert versions_of(store_copy, "wp") == before
    assert rows(store_copy, "SELECT created_at FROM runs WHERE run_id = 'wp'") == runs_before

    dropped = run_cli(*args[:4], str(other), *args[5:], "--label-versions", "drop")
    assert dropped.returncode == 0, dropped.stderr
    assert "replaced the earlier run, dropped its label version 'fixed'" in dropped.stderr
    assert versions_of(store_copy, "wp") == ([], [])

    # a run without versions replaces as before, and the summary says it replaced one
    again = run_cli(*args)
    assert again.returncode == 0 and "replaced the earlier run" in again.stderr and "label versions" not in again.stderr
    bad = run_cli(*args, "--label-versions", "maybe")
    one_error_line(bad, "keep or drop", code=2)


def test_label_versions_that_cannot_be_kept_are_refused_before_the_model_runs(store_copy, wordpiece_model, sentences,
                                                                            tmp_path, monkeypatch):
    """Keeping label versions over data that lacks a sequence, or changes one's words or gold
    tags, is refused from the data alone: no model is loaded (scoring a million sequences to be
    refused at the commit would cost hours)."""
    from lossdb.ingest import score_steps

    def no_scoring(*args, **kwargs):
        raise AssertionError("the model was loaded before the refusal")

    monkeypatch.setattr(score_steps, "load_scorer", no_scoring)
    add_version(store_copy, "wp", "fixed", [3, 7])
    before = versions_of(store_copy, "wp")
    words = [(list(w), list(t)) for w, t in sentences]
    words[7][0][0] += "x"
    tags = [(list(w), list(t)) for w, t in sentences]
    tags[9][1][0] = "B-ORG" if tags[9][1][0] != "B-ORG" else "B-LOC"
    cases = [(words, "sequence 7 has other words"), (tags, "sequence 9 has other gold tags"),
             (sentences[:-1], f"sequence {len(sentences) - 1} is not in the new data")]
    for k, (data, said) in enumerate(cases):
        path = demo.write_conll(data, tmp_path / f"other{k}.conll")
        with pytest.raises(StoreError, match=f"run 'wp': {said}, so its label version 'fixed' cannot be kept"):
            ingest(wordpiece_model, str(path), db=str(store_copy), run="wp", replace=True, label_versions="keep",
                   progress=False)
    assert versions_of(store_copy, "wp") == before


def test_a_group_run_over_other_sequences_is_refused_before_the_model_runs(tmp_path, wordpiece_model, conll_file,
                                                                           sentences, monkeypatch):
    """The same number of sentences as the group's runs, but one other sentence (or one other
    gold tag): refused from the data alone, before any model loads."""
    from lossdb.ingest import score_steps

    store = tmp_path / "g.duckdb"
    ingest(wordpiece_model, str(conll_file), db=str(store), run="s1", group="g", step=1, progress=False)

    def no_scoring(*args, **kwargs):
        raise AssertionError("the model was loaded before the refusal")

    monkeypatch.setattr(score_steps, "load_scorer", no_scoring)
    other = [(list(w), list(t)) for w, t in sentences]
    other[5] = (other[5][0] + ["extra"], other[5][1] + ["O"])
    path = demo.write_conll(other, tmp_path / "other.conll")
    with pytest.raises(InputError, match=r"run 's2' does not cover the same sequences as run 's1' of group 'g' "
                                         r"\(1 only in this run, 1 only in 's1'; first seq_id 5\)"):
        ingest(wordpiece_model, str(path), db=str(store), run="s2", group="g", step=2, progress=False)
    relabelled = [(list(w), list(t)) for w, t in sentences]
    relabelled[4][1][0] = "B-ORG" if relabelled[4][1][0] != "B-ORG" else "B-LOC"
    path = demo.write_conll(relabelled, tmp_path / "relabelled.conll")
    with pytest.raises(InputError, match=r"run 's2' gives 1 sequence other gold labels than run 's1' of group 'g' "
                                         r"\(first seq_id 4\)"):
        ingest(wordpiece_model, str(path), db=str(store), run="s2", group="g", step=2, progress=False)
    # a model whose labels are in another order (so its label ids mean other things)
    swapped = tmp_path / "swapped"
    shutil.copytree(wordpiece_model, swapped)
    config = json.loads((swapped / "config.json").read_text())
    names = [config["id2label"][str(i)] for i in range(len(config["id2label"]))]
    names[1], names[2] = names[2], names[1]
    config["id2label"] = {str(i): name for i, name in enumerate(names)}
    config["label2id"] = {name: i for i, name in enumerate(names)}
    (swapped / "config.json").write_text(json.dumps(config))
    with pytest.raises(InputError, match="run 's2' has other labels than run 's1' of group 'g'"):
        ingest(str(swapped), str(conll_file), db=str(store), run="s2", group="g", step=2, progress=False)
    assert rows(store, "SELECT run_id FROM runs") == [("s1",)]


# --- 3: merge carries label versions and metadata --------------------------------------------------------


@pytest.fixture(scope="module")
def shards(tmp_path_factory, wordpiece_model, conll_file):
    folder = tmp_path_factory.mktemp("shards")
    paths = []
    for i in range(2):
        path = folder / f"shard{i}.duckdb"
        ingest(wordpiece_model, str(conll_file), db=str(path), run="wp", shard=f"{i}/2", progress=False)
        paths.append(path)
    return paths


def shard_copies(shards, tmp_path) -> list[Path]:
    out = []
    for path in shards:
        shutil.copy(path, tmp_path / path.name)
        out.append(tmp_path / path.name)
    return out


def write_review(path: Path, sentences, annotator) -> Path:
    """A metadata file naming each sentence by its words: {"text": [...], "annotator": ...}."""
    path.write_text("".join(json.dumps({"text": w, "annotator": annotator(i)}) + "\n"
                            for i, (w, _) in enumerate(sentences)), "utf-8")
    return path


def annotate_file(path, file: Path, name: str = "review") -> None:
    con = store_db.connect(path, read_only=False)
    try:
        metadata.annotate(con, file, key="text", match="text", name=name)
    finally:
        con.close()


def test_merge_carries_label_versions_and_metadata(shards, sentences, tmp_path):
    s0, s1 = shard_copies(shards, tmp_path)
    add_version(s0, "wp", "fixed", [0, 2])  # shard 0 holds the even seq_ids
    add_version(s1, "wp", "fixed", [1])
    review = write_review(tmp_path / "review.jsonl", sentences, lambda i: "anna" if i % 2 else "ben")
    annotate_file(s0, review)
    annotate_file(s1, review)
    assert rows(s0, "SELECT n_matched FROM annotations") == [(30,)]

    target = tmp_path / "all.duckdb"
    assert merge(str(target), [str(s0), str(s1)]).runs == ["wp"]
    assert rows(target, "SELECT version, n_changed, source FROM label_versions") == [("fixed", 3, "review.json")]
    assert [r[:2] for r in versions_of(target, "wp")[1]] == [("fixed", 0), ("fixed", 1), ("fixed", 2)]
    assert versions_of(target, "wp")[1] == sorted(versions_of(s0, "wp")[1] + versions_of(s1, "wp")[1])
    assert rows(target, "SELECT name, n_rows, n_matched FROM annotations") == [("review", 60, 60)]
    assert rows(target, "SELECT annotator, count(*) FROM review GROUP BY 1 ORDER BY 1") == [("anna", 30), ("ben", 30)]
    stored, fresh = version_scores(target, "wp", "fixed")  # scored over the whole merged run
    assert len(stored) == 60 and stored == pytest.approx(fresh, abs=1e-12)
    store = run_cli("top", "--n", "1", "--labels", "fixed", "--where-meta", "annotator=ben", "--db", str(target))
    assert store.returncode == 0, store.stderr


def test_merge_refuses_what_it_cannot_carry(shards, sentences, tmp_path):
    s0, s1 = shard_copies(shards, tmp_path)
    add_version(s0, "wp", "only-here", [0])
    target = tmp_path / "all.duckdb"
    with pytest.raises(InputError, match="label version 'only-here' is in .*shard0.duckdb but not in .*shard1"):
        merge(str(target), [str(s0), str(s1)])
    assert not target.exists()
    text = tmp_path / "notes.txt"  # a shard that is no store is said as the shard, not as --db
    text.write_text("x")
    one_error_line(run_cli("merge", str(s1), str(text), "--db", str(target)), f"shard {text}: ",
                   "check the shard paths", code=4)
    assert not target.exists()

    s0, s1 = shard_copies(shards, tmp_path)
    for path, who in ((s0, "anna"), (s1, "ben")):
        annotate_file(path, write_review(tmp_path / f"{who}.jsonl", sentences, lambda i: who))
    result = run_cli("merge", str(s0), str(s1), "--db", str(target))
    one_error_line(result, "metadata table 'review' holds other rows", code=3)
    assert not target.exists()

    # the target's own run with label versions is not replaced by a merge
    s0, s1 = shard_copies(shards, tmp_path)
    assert merge(str(target), [str(s0), str(s1)]).runs == ["wp"]
    add_version(target, "wp", "fixed", [1])
    before = target.read_bytes()
    with pytest.raises(StoreError, match="run 'wp' has label version 'fixed'.*new --db"):
        merge(str(target), [str(s0), str(s1)], replace=True)
    assert target.read_bytes() == before  # refused before the file was opened for writing

    # nor does it put other rows under the name of one of the target's metadata tables
    other = tmp_path / "other.duckdb"
    assert merge(str(other), [str(s0), str(s1)]).runs == ["wp"]
    for path in (s0, s1):
        annotate_file(path, write_review(tmp_path / "x.jsonl", sentences, lambda i: "x"))
    annotate_file(other, write_review(tmp_path / "y.jsonl", sentences, lambda i: "y"))
    before = other.read_bytes()
    with pytest.raises(InputError, match=f"metadata table 'review' holds other rows in {other}"):
        merge(str(other), [str(s0), str(s1)], replace=True)
    assert other.read_bytes() == before


# --- 5: annotate reads the one file named -------------------------------------------------------------------


def test_annotate_path_is_a_path_not_a_glob(store_copy, tmp_path):
    def write(name: str, who: str, n: int) -> Path:
        path = tmp_path / name
        path.write_text("seq,annotator\n" + "".join(f"{i},{who}\n" for i in range(n)), "utf-8")
        return path

    write("review1.csv", "glob", 5)
    literal = write("review[1].csv", "literal", 3)
    star = write("review*.csv", "star", 4)
    con = store_db.connect(store_copy, read_only=False)
    try:
        done = metadata.annotate(con, literal, key="seq", match="seq_id", name="a").records()[0]
        assert (done["n_rows"], done["source"]) == (3, str(literal))
        assert con.execute("SELECT DISTINCT annotator FROM a").fetchall() == [("literal",)]
        done = metadata.annotate(con, star, key="seq", match="seq_id", name="b").records()[0]
        assert done["n_rows"] == 4  # not review1 + review[1] + review* (12 rows)
        assert con.execute("SELECT DISTINCT annotator FROM b").fetchall() == [("star",)]
        write("review2.csv", "glob", 2)
        with pytest.raises(InputError, match=r"no file .*review\[2\]\.csv"):
            metadata.annotate(con, tmp_path / "review[2].csv", key="seq", match="seq_id", name="c")
        import pyarrow as pa
        import pyarrow.parquet as pq

        parquet = tmp_path / "rev[1].parquet"
        pq.write_table(pa.table({"seq": [1], "annotator": ["glob"]}), tmp_path / "rev1.parquet")
        pq.write_table(pa.table({"seq": [2], "annotator": ["literal"]}), parquet)
        metadata.annotate(con, parquet, key="seq", match="seq_id", name="d")
        assert con.execute("SELECT annotator FROM d").fetchall() == [("literal",)]
    finally:
        con.close()


# --- 9: '$' in user text given to matplotlib ----------------------------------------------------------------


@pytest.fixture(scope="module")
def dollar_store(tmp_path_factory, sentences):
    """A run whose labels hold '$...$' that is not valid math text (B-$\\foo$)."""
    folder = tmp_path_factory.mktemp("dollar")
    names = {"PER": "$\\foo$", "ORG": "$x", "LOC": "a$b$c"}
    labels = ["O"] + [f"{p}-{t}" for t in names.values() for p in "BI"]
    tok = demo.build_tokenizer("wordpiece", [w for w, _ in sentences], folder / "tok", vocab_size=200)
    model = demo.build_model(tok, folder / "model", labels=labels, kind="wordpiece", seed=1)
    data = demo.write_conll([(w, [t if t == "O" else f"{t[:2]}{names[t[2:]]}" for t in tags]) for w, tags in sentences],
                            folder / "dollar.conll")
    path = folder / "dollar.duckdb"
    ingest(str(model), str(data), db=str(path), run="$\\bar$", progress=False)
    return path


def test_dollar_signs_in_labels_are_drawn_as_text(dollar_store, tmp_path):
    for kind in ("confusion", "loss-by-label"):
        out = tmp_path / f"{kind}.svg"
        result = run_cli("plot", kind, "--db", str(dollar_store), "--out", str(out))
        assert result.returncode == 0, result.stderr
        assert "B-$\\foo$" in out.read_text("utf-8")
    result = run_cli("confusion", "--plot", str(tmp_path / "cm.png"), "--db", str(dollar_store))
    assert result.returncode == 0, result.stderr
    report = tmp_path / "report.html"
    result = run_cli("report", "--n", "3", "--db", str(dollar_store), "--out", str(report))
    assert result.returncode == 0, result.stderr
    assert "B-$\\foo$" in report.read_text("utf-8")


# --- 10 and 11: terminal escapes in tables; NFC and NFD words -------------------------------------------------


ESCAPES = ["\x1b]0;pwned\x07Berlin", "\x1b[2JMünchen"]
NFC = unicodedata.normalize("NFC", "Müller")
NFD = unicodedata.normalize("NFD", "Müller")


@pytest.fixture(scope="module")
def odd_store(tmp_path_factory, wordpiece_model):
    """Run 'evil\\x1b[2J' over 4 sentences: words with terminal escapes, and Müller composed (seq 2)
    and decomposed (seq 3)."""
    folder = tmp_path_factory.mktemp("odd")
    data = folder / "odd.jsonl"
    sentences = [([ESCAPES[0], "liegt", "hier"], ["B-LOC", "O", "O"]),
                 (["Sie", "fuhr", "nach", ESCAPES[1]], ["O", "O", "O", "B-LOC"]),
                 (["Herr", NFC, "kam"], ["O", "B-PER", "O"]),
                 (["Frau", NFD, "ging"], ["O", "B-PER", "O"])]
    data.write_text("".join(json.dumps({"tokens": w, "ner_tags": t}) + "\n" for w, t in sentences), "utf-8")
    path = folder / "odd.duckdb"
    ingest(wordpiece_model, str(data), db=str(path), run="evil\x1b[2J", progress=False)
    return path


def test_tables_show_control_characters_escaped(odd_store):
    shown = {
        "runs": run_cli("runs", "--db", str(odd_store)),
        "top": run_cli("top", "--n", "4", "--width", "0", "--db", str(odd_store)),
        "issues": run_cli("issues", "--n", "4", "--db", str(odd_store)),
        "sql": run_cli("sql", "SELECT words FROM sequences ORDER BY seq_id", "--db", str(odd_store)),
        "markdown": run_cli("sql", "SELECT words FROM sequences", "--format", "markdown", "--db", str(odd_store)),
    }
    for name, result in shown.items():
        assert result.returncode == 0, (name, result.stderr)
        assert "\x1b" not in result.stdout and "\x07" not in result.stdout, name
    assert "evil\\x1b[2J" in shown["runs"].stdout and "run evil\\x1b[2J" in shown["top"].stdout
    assert "\\x1b]0;pwned\\x07Berlin" in shown["sql"].stdout and "\\x1b[2JMünchen" in shown["markdown"].stdout
    # JSON and CSV keep the data as it is
    as_json = run_cli("sql", "SELECT run_id, words FROM sequences ORDER BY seq_id", "--format", "json", "--db", str(odd_store))
    assert json.loads(as_json.stdout)[0] == {"run_id": "evil\x1b[2J", "words": [ESCAPES[0], "liegt", "hier"]}
    as_csv = run_cli("runs", "--format", "csv", "--db", str(odd_store))
    assert "evil\x1b[2J" in as_csv.stdout


def test_search_word_matches_every_unicode_form(odd_store):
    con = store_db.connect(odd_store)
    try:
        for query in (NFC, NFD):
            found = analysis.search(con, word=query, n=10).records()
            assert sorted(r["seq_id"] for r in found) == [2, 3], query
        stored = con.execute("SELECT words[2] FROM sequences WHERE seq_id IN (2, 3) ORDER BY seq_id").fetchall()
        assert stored == [(NFC,), (NFD,)]  # the data itself is left as it was
        assert analysis.search(con, word="Mueller").rows == []
    finally:
        con.close()
    result = run_cli("search", "--word", NFD, "--format", "json", "--db", str(odd_store))
    assert result.returncode == 0 and sorted(r["seq_id"] for r in json.loads(result.stdout)) == [2, 3]


# --- 12: full disks and damaged store files -----------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """small_disk(size) -> a folder on a fresh tmpfs of that size; skipped where mounting is refused."""
    mounted = []

    def mount(size: str) -> Path:
        folder = tmp_path / f"disk{len(mounted)}"
        folder.mkdir()
        try:
            done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                                  capture_output=True, text=True)
        except OSError as e:
            pytest.skip(f"cannot mount a tmpfs here: {e}")
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounted.append(folder)
        return folder

    yield mount
    for folder in mounted:
        subprocess.run(["umount", str(folder)], capture_output=True)


def test_full_disk_during_ingest_is_one_line_and_leaves_nothing(small_disk, wordpiece_model, conll_file, tmp_path):
    disk = small_disk("256k")
    store = disk / "new.duckdb"
    result = run_cli("ingest", "-m", wordpiece_model, "-d", str(conll_file), "--run", "wp", "-q", "--db", str(store))
    one_error_line(result, f"no space left on the disk at {disk}", code=4)
    assert list(disk.iterdir()) == []  # no store, no .wal

    staging = small_disk("64k")  # room for Python's probe of TMPDIR, not for the staged rows
    target = tmp_path / "elsewhere.duckdb"
    result = run_cli("ingest", "-m", wordpiece_model, "-d", str(conll_file), "--run", "wp", "-q", "--db", str(target),
                     env={"TMPDIR": str(staging)})
    one_error_line(result, f"no space left on the disk at {staging}", code=4)
    assert not target.exists() and [p.name for p in staging.iterdir() if p.name.startswith("lossdb")] == []


def test_full_disk_during_plot_and_report_leaves_no_file(small_disk, built_store):
    disk = small_disk("16k")
    for args, out in ((["plot", "confusion"], disk / "cm.png"), (["report", "--n", "3"], disk / "r.html"),
                      (["confusion"], None)):
        target = out or disk / "c.svg"
        extra = ["--out", str(target)] if out else ["--plot", str(target), "--format", "json"]
        result = run_cli(*args, *extra, "--db", str(built_store))
        one_error_line(result, f"no space left on the disk at {disk}", code=7)  # an output file, as export's
        assert list(disk.iterdir()) == [], args


def test_a_folder_it_may_not_write_in_is_one_line(built_store, tmp_path):
    """report, plot and export alike: exit 7 and the path, not an internal error."""
    import os
    import subprocess
    import sys

    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    drop = ["setpriv", "--inh-caps=-dac_override", "--bounding-set=-dac_override"] if os.geteuid() == 0 else []
    for args, name in ((["report", "--n", "2"], "r.html"), (["plot", "loss-by-label"], "l.svg"),
                       (["export", "--to", "jsonl", "--n", "2"], "e.jsonl")):
        result = subprocess.run([*drop, sys.executable, "-m", "lossdb.cli.app", *args, "--out", str(folder / name),
                                 "--db", str(built_store)], capture_output=True, text=True, timeout=120)
        one_error_line(result, f"cannot write {folder / name}: Permission denied", code=7)
    assert list(folder.iterdir()) == []


def test_a_failed_write_leaves_no_partial_file(built_store, tmp_path, monkeypatch):
    """The same without a tmpfs: the figure's write fails half way (ENOSPC injected after the
    first bytes), as on a full disk."""
    import errno

    from matplotlib.figure import Figure

    def half_written(self, fname, **kwargs):
        Path(fname).write_bytes(b"\x89PNG\r\n")
        raise OSError(errno.ENOSPC, "No space left on device")

    con = store_db.connect(built_store)
    fig = plots.figure(con, "loss-hist")
    con.close()
    monkeypatch.setattr(Figure, "savefig", half_written)
    with pytest.raises(OutputError, match=f"no space left on the disk at {tmp_path}"):
        plots.save(fig, tmp_path / "h.png")
    assert list(tmp_path.iterdir()) == []


def test_damaged_store_file_is_named_as_such(built_store, wordpiece_model, conll_file, tmp_path):
    size = built_store.stat().st_size
    for keep in (12288, size // 4, size * 3 // 4):
        damaged = tmp_path / f"cut{keep}.duckdb"
        damaged.write_bytes(built_store.read_bytes()[:keep])
        before = damaged.read_bytes()
        for args in (["top"], ["runs"], ["sql", "SELECT sum(loss) FROM tokens"], ["search", "--word", "x"],
                     ["ingest", "-m", wordpiece_model, "-d", str(conll_file), "--run", "new", "-q"]):
            result = run_cli(*args, "--db", str(damaged))
            one_error_line(result, f"the store file {damaged} is damaged", code=4)
        assert damaged.read_bytes() == before
    corrupt = tmp_path / "corrupt.duckdb"
    body = bytearray(built_store.read_bytes())
    body[5000:9096] = b"\xff" * 4096
    corrupt.write_bytes(bytes(body))
    one_error_line(run_cli("top", "--db", str(corrupt)), "is damaged", code=4)  # not "busy"


# --- 13: one rule for every file a command writes ---------------------------------------------------------------


def test_a_report_is_written_only_to_an_html_name(built_store, tmp_path):
    """It silently wrote HTML into r.txt; datamap and plot refuse a suffix they do not write too."""
    result = run_cli("report", "--n", "2", "--out", str(tmp_path / "r.txt"), "--db", str(built_store))
    one_error_line(result, "r.txt is not an .html file", "name it r.html", code=2)
    assert list(tmp_path.iterdir()) == []


def test_every_written_file_is_replaced_only_with_force(built_store, tmp_path):
    for args, flag in ((["report", "--n", "2"], "--out"), (["plot", "loss-hist"], "--out"),
                       (["confusion", "--format", "json"], "--plot")):
        out = tmp_path / ("r.html" if args[0] == "report" else f"{args[0]}.png")
        out.write_text("mine")
        refused = run_cli(*args, flag, str(out), "--db", str(built_store))
        one_error_line(refused, f"{out} already exists", "--force", code=2)
        assert out.read_text() == "mine" and refused.stdout == ""
        forced = run_cli(*args, flag, str(out), "--force", "--db", str(built_store))
        assert forced.returncode == 0, forced.stderr
        assert out.read_bytes() != b"mine"
    con = store_db.connect(built_store)
    try:
        from lossdb import report

        built = report.build(con, n=2)
        with pytest.raises(UsageError, match="already exists"):
            built.save(tmp_path / "r.html")
        assert built.save(tmp_path / "r.html", force=True).read_text("utf-8") == built.html
        with pytest.raises(UsageError, match="already exists"):
            plots.save(plots.figure(con, "confusion"), tmp_path / "confusion.png")
    finally:
        con.close()
    from lossdb.store import Store

    store = Store(built_store)
    try:
        with pytest.raises(UsageError, match="already exists"):
            store.plot_confusion(tmp_path / "confusion.png")
    finally:
        store.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["confusion.png", "plot.png", "r.html"]  # no temporary files



# --- files a command writes get the permissions a plain open() would --------------------------------------------


def test_written_files_follow_the_umask_and_keep_a_replaced_files_mode(built_store, tmp_path):
    """They are written to a temporary file (mkstemp: 0600) and renamed; a report shared on a
    server must still be readable by others, as `open(path, "w")` would make it."""
    import os
    import stat

    def mode(path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    commands = {
        "report.html": ["report", "--n", "2"],
        "loss.svg": ["plot", "loss-by-label"],
        "top.conll": ["export", "--to", "conll", "--n", "3"],
    }
    for umask, want in ((0o022, 0o644), (0o077, 0o600)):
        folder = tmp_path / f"umask{umask:o}"
        folder.mkdir()
        previous = os.umask(umask)
        try:
            for name, args in commands.items():
                result = run_cli(*args, "--out", str(folder / name), "--db", str(built_store))
                assert result.returncode == 0, result.stderr
        finally:
            os.umask(previous)
        assert {name: mode(folder / name) for name in commands} == {name: want for name in commands}
    replaced = tmp_path / "umask22" / "report.html"
    replaced.chmod(0o640)
    assert run_cli("report", "--n", "2", "--out", str(replaced), "--force", "--db", str(built_store)).returncode == 0
    assert mode(replaced) == 0o640
