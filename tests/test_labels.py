"""Label versions on real stores: export -> correct -> import -> diff -> every query against the
version, recomputed from the stored probabilities; bad imports refused with the store unchanged."""
from __future__ import annotations

import json
import math
import subprocess
import sys

import duckdb
import pytest

import lossdb
from lossdb.errors import StoreError, UsageError
from lossdb.ingest import label_io
from lossdb.ingest.labels import LabelImportError, export_labels, import_labels
from lossdb.queries import core, db as store_db, rankings, versions

from .conftest import fetch, run_cli

AWKWARD = [
    (["Angela", "Merkel", "besuchte", "東京", "und", "😀", "."], ["B-PER", "I-PER", "O", "B-LOC", "O", "O", "O"]),
    (["القاهرة", "ist", "eine", "Stadt", "in", "مصر"], ["B-LOC", "O", "O", "O", "O", "B-LOC"]),
    (["Jose\u0301", "Mu\u0308ller", "arbeitet", "bei", "👨\u200d👩\u200d👧", "Siemens"], ["B-PER", "I-PER", "O", "O", "O", "B-ORG"]),
    (["ירושלים", "\u200f", "🇩🇪", "Deutsche", "Bahn", "\u200b", "!"], ["B-LOC", "O", "O", "B-ORG", "I-ORG", "O", "O"]),
    (["Der", "Rhein", "fließt", "durch", "𝔅𝔞𝔰𝔢𝔩"], ["O", "I-LOC", "O", "O", "B-LOC"]),  # ill-formed IOB2 gold
    ([], []),
    (["New York", "ist", "groß"], ["B-LOC", "O", "O"]),  # a word with a space: not for CoNLL
]
TABLES = ("runs", "sequences", "tokens", "label_versions", "sequence_labels")


def snapshot(path) -> dict:
    """Every row of every table, to show a refused import changed nothing."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return snapshot_con(con)
    finally:
        con.close()


def snapshot_con(con) -> dict:
    return {t: sorted(map(repr, con.execute(f"SELECT * FROM {t}").fetchall())) for t in TABLES}


@pytest.fixture(scope="module")
def awkward_store(tmp_path_factory, wordpiece_model):
    from lossdb.ingest import ingest

    root = tmp_path_factory.mktemp("awkward")
    data = root / "awkward.jsonl"
    data.write_text("".join(json.dumps({"words": w, "tags": t}, ensure_ascii=False) + "\n" for w, t in AWKWARD), "utf-8")
    path = root / "awkward.duckdb"
    ingest(wordpiece_model, str(data), db=str(path), run="awk", progress=False)
    return path


def writer(path):
    return store_db.connect(path, read_only=False)


def test_every_format_round_trips_awkward_unicode_to_an_empty_diff(awkward_store, tmp_path):
    import shutil

    db = tmp_path / "a.duckdb"
    shutil.copy(awkward_store, db)
    con = writer(db)
    stored = con.execute("SELECT words, labels FROM sequences ORDER BY seq_id").fetchall()
    assert [(list(w), list(t)) for w, t in stored] == [(w, t) for w, t in AWKWARD]  # nothing normalised
    with pytest.raises(lossdb.LossdbError, match="New York.*CoNLL cannot hold"):
        export_labels(con, tmp_path / "x.conll", fmt="conll", everything=True)
    cases = [("label-studio", "x.json", {}), ("jsonl", "x.jsonl", {}), ("parquet", "x.parquet", {}),
             ("hf-dataset", "x-hf", {}), ("conll", "x.conll", {"ids": "SELECT seq_id FROM sequences WHERE seq_id < 6"})]
    for fmt, name, selection in cases:
        summary = export_labels(con, tmp_path / name, fmt=fmt, **({"everything": True} if not selection else selection))
        assert summary.n_sequences == (7 if not selection else 6)
        result = import_labels(con, tmp_path / name, name=f"rt-{fmt}")
        assert result.n_changed == 0, fmt
        assert versions.diff_labels(con, run="awk", to_labels=f"rt-{fmt}").rows == [], fmt
    listing = versions.label_versions(con, run="awk").records()
    assert [r["version"] for r in listing] == ["gold"] + [f"rt-{c[0]}" for c in cases]
    assert all(r["n_changed"] == 0 for r in listing)
    assert con.execute("SELECT count(*) FROM sequence_labels").fetchone()[0] == 0  # no copies of gold
    con.close()


def _task_regions(task, spans):
    words = task["data"]["words"]
    text = task["data"]["text"]
    offsets = label_io.word_offsets(words)
    regions = []
    for k, (s, e, t) in enumerate(spans):
        start, end = offsets[s][0], offsets[e - 1][1]
        regions.append({"id": f"r{k}", "from_name": "label", "to_name": "text", "type": "labels",
                        "value": {"start": start, "end": end, "text": text[start:end], "labels": [t]}})
    return regions


def _describe(words, spans):
    return " + ".join(f"[{t} {' '.join(words[s:e])}] {s}:{e}" for s, e, t in spans)


@pytest.fixture(scope="module")
def corrected(built_store, tmp_path_factory):
    """A copy of built_store with label version 'fixed': one sequence each retyped, split, merged,
    removed, added, made in a Label Studio export as a reviewer would (read-only for the tests).
    Returns (db, edits, gold entities)."""
    import shutil

    tmp_path = tmp_path_factory.mktemp("corrected")
    store_copy = tmp_path / "corrected.duckdb"
    shutil.copy(built_store, store_copy)
    con = writer(store_copy)
    export_labels(con, tmp_path / "review.json", fmt="label-studio", everything=True)
    con.close()
    tasks = json.loads((tmp_path / "review.json").read_text("utf-8"))
    by_seq = {t["data"]["seq_id"]: t for t in tasks}
    gold = {t["data"]["seq_id"]: versions.entities(_gold_labels(store_copy, t["data"]["seq_id"])) for t in tasks}
    used: set[int] = set()

    def pick(test):
        seq_id = next(s for s in sorted(gold) if s not in used and test(gold[s], by_seq[s]["data"]["words"]))
        used.add(seq_id)
        return seq_id

    edits = {}
    other = {"PER": "ORG", "ORG": "LOC", "LOC": "PER"}
    s = pick(lambda g, w: g)
    a = gold[s][0]
    edits[s] = ("retyped", [a], [(a[0], a[1], other[a[2]])])
    s = pick(lambda g, w: any(e - b >= 2 for b, e, _ in g))
    a = next(x for x in gold[s] if x[1] - x[0] >= 2)
    edits[s] = ("split", [a], [(a[0], a[0] + 1, a[2]), (a[0] + 1, a[1], a[2])])
    s = pick(lambda g, w: len(g) >= 2)
    a, b = gold[s][0], gold[s][1]
    edits[s] = ("merged", [a, b], [(a[0], b[1], a[2])])
    s = pick(lambda g, w: g)
    edits[s] = ("removed", [gold[s][0]], [])
    s = pick(lambda g, w: len(w) > 0 and all(x[0] > 0 for x in g))  # its first word is O
    edits[s] = ("added", [], [(0, 1, "LOC")])
    for seq_id, (_kind, olds, news) in edits.items():
        spans = [x for x in gold[seq_id] if x not in olds] + news
        by_seq[seq_id]["annotations"][0]["result"] = _task_regions(by_seq[seq_id], sorted(spans))
        by_seq[seq_id]["annotations"][0]["updated_at"] = "2024-05-01T12:00:00Z"
        by_seq[seq_id]["id"] = 1000 + seq_id  # Label Studio's own task id, as in its export
    (tmp_path / "reviewed.json").write_text(json.dumps(tasks, ensure_ascii=False), "utf-8")
    result = run_cli("import-labels", str(tmp_path / "reviewed.json"), "--as", "fixed", "--run", "wp",
                     "--db", str(store_copy))
    assert result.returncode == 0, result.stderr
    assert "60 sequences read, 5 differ from gold" in result.stderr
    return store_copy, edits, gold


_GOLD_CACHE: dict = {}


def _gold_labels(db, seq_id):
    key = (str(db), seq_id)
    if key not in _GOLD_CACHE:
        con = duckdb.connect(str(db), read_only=True)
        _GOLD_CACHE[key] = list(con.execute("SELECT labels FROM sequences WHERE run_id = 'wp' AND seq_id = ?",
                                            [seq_id]).fetchone()[0])
        con.close()
    return _GOLD_CACHE[key]


def test_retype_split_merge_remove_add_give_the_expected_diff(corrected):
    db, edits, gold = corrected
    result = run_cli("diff-labels", "--run", "wp", "--to", "fixed", "--format", "json", "--db", str(db))
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)
    con = duckdb.connect(str(db), read_only=True)
    words = {s: list(w) for s, w in con.execute("SELECT seq_id, words FROM sequences WHERE run_id = 'wp'").fetchall()}
    want = [{"run_id": "wp", "seq_id": s, "change": kind, "before": _describe(words[s], olds),
             "after": _describe(words[s], news), "text": " ".join(words[s])}
            for s, (kind, olds, news) in sorted(edits.items())]
    assert got == want
    for flag in ("--to", "--from"):  # an unknown version is blamed on the flag that named it
        other = {"--to": "fixed", "--from": "gold"}["--from" if flag == "--to" else "--to"]
        bad = run_cli("diff-labels", "--run", "wp", flag, "nope", "--from" if flag == "--to" else "--to", other,
                      "--db", str(db))
        assert bad.returncode == 4 and bad.stderr.rstrip().endswith(f"({flag})"), bad.stderr
    # the version stores the changed sequences only, as IOB2
    stored = dict(con.execute("SELECT seq_id, labels FROM sequence_labels WHERE version = 'fixed'").fetchall())
    assert sorted(stored) == sorted(edits)
    for s, (_kind, olds, news) in edits.items():
        spans = sorted([x for x in gold[s] if x not in olds] + news)
        assert list(stored[s]) == versions.iob2(len(words[s]), spans)
    con.close()
    listing = run_cli("labels", "--run", "wp", "--format", "json", "--db", str(db))
    rows = {r["version"]: r for r in json.loads(listing.stdout)}
    assert rows["fixed"]["n_changed"] == 5
    assert {k: rows["fixed"][k] for k in ("added", "removed", "retyped", "split", "merged", "reshaped")} == {
        "added": 1, "removed": 1, "retyped": 1, "split": 1, "merged": 1, "reshaped": 0}


def _word_preds(con, run="wp"):
    """Word predictions straight from the token rows: the first subword's pred ('O' if unseen)."""
    n_words = dict(con.execute("SELECT seq_id, len(words) FROM sequences WHERE run_id = ?", [run]).fetchall())
    preds = {s: ["O"] * n for s, n in n_words.items()}
    for s, w, p in con.execute("SELECT seq_id, word_index, pred FROM tokens WHERE run_id = ? AND label IS NOT NULL",
                               [run]).fetchall():
        preds[s][w] = p
    return preds


def test_top_against_a_version_recomputes_losses_from_the_stored_probabilities(corrected):
    db, edits, _gold = corrected
    before = snapshot(db)
    con = duckdb.connect(str(db), read_only=True)
    names = list(con.execute("SELECT label_names FROM runs WHERE run_id = 'wp'").fetchone()[0])
    fixed = dict(con.execute("SELECT seq_id, labels FROM sequence_labels WHERE version = 'fixed'").fetchall())
    gold_totals = dict(con.execute("SELECT seq_id, total_loss FROM sequences WHERE run_id = 'wp'").fetchall())
    expected_total, expected_quality = {}, {}
    rows = con.execute("SELECT seq_id, word_index, label, loss, probs FROM tokens WHERE run_id = 'wp' "
                       "ORDER BY seq_id, position").fetchall()
    con.close()
    by_seq: dict[int, list] = {}
    for seq_id, word, label, loss, probs in rows:
        if seq_id in fixed and label is not None:
            label = fixed[seq_id][word]
            loss = -math.log(max(probs[names.index(label)], 1e-45))
        by_seq.setdefault(seq_id, []).append((label, loss))
    for seq_id, items in by_seq.items():
        expected_total[seq_id] = sum(loss for _, loss in items)
        confidences = [math.exp(-loss) for label, loss in items if label is not None]
        weights = [math.exp((1 - c) / 0.05) for c in confidences]
        expected_quality[seq_id] = sum(c * w for c, w in zip(confidences, weights)) / sum(weights)
    result = run_cli("top", "--run", "wp", "--labels", "fixed", "--n", "60", "--format", "json", "--db", str(db))
    assert result.returncode == 0, result.stderr
    got = {r["seq_id"]: r for r in json.loads(result.stdout)}
    assert [r["seq_id"] for r in json.loads(result.stdout)] == sorted(expected_total, key=lambda s: (-expected_total[s], s))
    for seq_id, r in got.items():
        assert r["total_loss"] == pytest.approx(expected_total[seq_id], rel=1e-5)
        if seq_id not in edits:
            assert r["total_loss"] == gold_totals[seq_id]  # the stored aggregate, untouched
    for seq_id in edits:
        labels_shown = [lab for lab in got[seq_id]["labels"] if lab != "IGN"]
        assert labels_shown == list(fixed[seq_id])
        assert got[seq_id]["total_loss"] != pytest.approx(gold_totals[seq_id])
    ranked = core.top(store_db.connect(db), 60, run="wp", by="label_quality", labels="fixed").records()
    scores = {r[0]: r[1:] for r in store_db.connect(db).execute(
        f"SELECT seq_id, softmin, {rankings.DEFAULT_METHOD} FROM label_scores('wp', p_labels := 'fixed')").fetchall()}
    for r in ranked:
        assert scores[r["seq_id"]][0] == pytest.approx(expected_quality[r["seq_id"]], rel=1e-5)  # cleanlab's softmin
        assert r["label_quality"] == pytest.approx(scores[r["seq_id"]][1], rel=1e-9)  # the default ranking's score
    assert snapshot(db) == before  # nothing re-scored, nothing written


def test_metrics_against_a_version_equal_seqeval_on_the_corrected_labels(corrected):
    from seqeval.metrics import classification_report
    from seqeval.scheme import IOB2

    db, _edits, _gold = corrected
    con = store_db.connect(db)
    truth = dict(con.execute("SELECT seq_id, labels FROM sequences WHERE run_id = 'wp'").fetchall())
    truth.update(dict(con.execute("SELECT seq_id, labels FROM sequence_labels WHERE version = 'fixed'").fetchall()))
    preds = _word_preds(con)
    order = sorted(truth)
    y_true, y_pred = [list(truth[s]) for s in order], [preds[s] for s in order]
    side = {r["type"]: r for r in versions.decoding(con, run="wp", labels="fixed").records()}
    for mode, options in (("default", {}), ("strict", {"mode": "strict", "scheme": IOB2})):
        want = classification_report(y_true, y_pred, output_dict=True, zero_division=0, **options)
        for type_, row in want.items():
            if type_ in ("macro avg", "weighted avg"):
                continue
            mine = side[type_]
            assert mine[f"precision_{mode}"] == pytest.approx(row["precision"]), (mode, type_)
            assert mine[f"recall_{mode}"] == pytest.approx(row["recall"]), (mode, type_)
            assert mine[f"f1_{mode}"] == pytest.approx(row["f1-score"]), (mode, type_)
            assert mine[f"support_{mode}"] == row["support"], (mode, type_)
        # the buckets (lossdb's own decoder over word rows) add up to the same counts
        lengths = [r for r in versions.buckets(con, run="wp", labels="fixed", by="entity_length", mode=mode).records()]
        assert sum(r["support"] for r in lengths) == want["micro avg"]["support"]
        assert sum(r["n_correct"] for r in lengths) == pytest.approx(
            want["micro avg"]["recall"] * want["micro avg"]["support"])
    # against gold, the version's corrections do not show
    gold = dict(con.execute("SELECT seq_id, labels FROM sequences WHERE run_id = 'wp'").fetchall())
    gold_want = classification_report([list(gold[s]) for s in order], y_pred, output_dict=True, zero_division=0)
    gold_got = {r["type"]: r for r in versions.decoding(con, run="wp").records()}
    assert gold_got["micro avg"]["f1_default"] == pytest.approx(gold_want["micro avg"]["f1-score"])
    assert gold_got["micro avg"]["support_default"] == gold_want["micro avg"]["support"]
    con.close()


def _ls_export(db, tmp_path, ids="SELECT seq_id FROM sequences WHERE seq_id IN (1, 2, 3)"):
    con = store_db.connect(db)
    export_labels(con, tmp_path / "few.json", fmt="label-studio", ids=ids, force=True)
    con.close()
    return json.loads((tmp_path / "few.json").read_text("utf-8"))


def _refused(db, tmp_path, name, content, *needles, cli=False):
    """Importing `content` is refused whole: one error naming each needle, the store unchanged."""
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content, ensure_ascii=False), "utf-8")
    before = snapshot(db)
    if cli:
        result = run_cli("import-labels", str(path), "--as", "bad", "--run", "wp", "--db", str(db))
        assert result.returncode == 3, result.stderr
        message = result.stderr
        assert len(message.strip().splitlines()) == 1
    else:
        con = writer(db)
        try:
            with pytest.raises(LabelImportError) as refused:
                import_labels(con, path, name="bad", run="wp")
        finally:
            con.close()
        message = str(refused.value)
    assert "nothing imported" in message and "store is unchanged" in message
    for needle in needles:
        assert needle in message, (needle, message)
    assert snapshot(db) == before


def test_bad_imports_are_refused_whole_with_the_store_unchanged(store_copy, tmp_path):
    tasks = _ls_export(store_copy, tmp_path)
    base = json.dumps(tasks, ensure_ascii=False)

    def variant(edit):
        copy = json.loads(base)
        edit(copy)
        return copy

    def misalign(ts):  # starts one character into the first entity's first word
        task = next(t for t in ts if t["annotations"][0]["result"])
        value = task["annotations"][0]["result"][0]["value"]
        value["start"] += 1
        value["text"] = task["data"]["text"][value["start"]:value["end"]]

    def shorten(ts):  # ends one character before the word ends
        task = next(t for t in ts if t["annotations"][0]["result"])
        value = task["annotations"][0]["result"][0]["value"]
        value["end"] -= 1
        value["text"] = task["data"]["text"][value["start"]:value["end"]]

    def unknown_label(ts):
        task = next(t for t in ts if t["annotations"][0]["result"])
        task["annotations"][0]["result"][0]["value"]["labels"] = ["MISC"]

    def unknown_sequence(ts):
        ts[0]["data"]["seq_id"] = 9999

    def overlap(ts):
        task = next(t for t in ts if t["annotations"][0]["result"])
        region = json.loads(json.dumps(task["annotations"][0]["result"][0]))
        region["value"]["labels"] = ["LOC" if region["value"]["labels"] != ["LOC"] else "PER"]
        task["annotations"][0]["result"].append(region)

    def other_text(ts):
        ts[0]["data"]["text"] = ts[0]["data"]["text"].replace(" ", "  ", 1)
        ts[0]["data"].pop("words")

    first = next(t for t in tasks if t["annotations"][0]["result"])
    seq, span = first["data"]["seq_id"], first["annotations"][0]["result"][0]["value"]["text"]
    _refused(store_copy, tmp_path, "a.json", variant(misalign), f"seq_id {seq}", "start inside a word", span[1:],
             cli=True)
    _refused(store_copy, tmp_path, "b.json", variant(shorten), f"seq_id {seq}", "end inside a word", span[:-1])
    _refused(store_copy, tmp_path, "c.json", variant(unknown_label), f"seq_id {seq}", "unknown label 'MISC'",
             repr(span))
    _refused(store_copy, tmp_path, "d.json", variant(unknown_sequence), "has no sequence with seq_id 9999")
    _refused(store_copy, tmp_path, "e.json", variant(overlap), f"seq_id {seq}", "overlaps span")
    _refused(store_copy, tmp_path, "f.json", variant(other_text), "task text differs")
    # several problems at once: all counted, the first few listed
    def many(ts):
        misalign(ts)
        k = next(i for i, t in enumerate(ts) if t["annotations"][0]["result"])
        others = [i for i in range(len(ts)) if i != k]
        ts[others[0]]["data"]["seq_id"] = 9999
        ts.append(json.loads(json.dumps(ts[others[1]])))  # a duplicate task
    _refused(store_copy, tmp_path, "g.json", variant(many), "3 problems", "appears twice", "seq_id 9999")
    # word-label formats
    line = {"run": "wp", "seq_id": 1, "words": tasks[0]["data"]["words"], "labels": ["O"] * len(tasks[0]["data"]["words"])}
    bad_label = dict(line, labels=["B-MISC"] + line["labels"][1:])
    _refused(store_copy, tmp_path, "h.jsonl", json.dumps(bad_label) + "\n", "label 'B-MISC' of word 0")
    bad_words = dict(line, words=["Anders"] + line["words"][1:])
    _refused(store_copy, tmp_path, "i.jsonl", json.dumps(bad_words) + "\n", "words differ", "'Anders'")
    short = dict(line, labels=["O"])
    _refused(store_copy, tmp_path, "j.jsonl", json.dumps(short) + "\n", f"1 label for {len(line['words'])} words")
    conll = "# seq_id = 1\n" + "".join(f"{w}\tB-MISC\n" for w in line["words"])
    _refused(store_copy, tmp_path, "k.conll", conll, "label 'B-MISC'")


def test_version_names_are_checked_and_replace_is_explicit(store_copy, tmp_path):
    tasks = _ls_export(store_copy, tmp_path)
    path = tmp_path / "same.json"
    path.write_text(json.dumps(tasks), "utf-8")
    con = writer(store_copy)
    import_labels(con, path, name="v1")
    con.close()
    before = snapshot(store_copy)
    again = run_cli("import-labels", str(path), "--as", "v1", "--db", str(store_copy))
    assert again.returncode == 4 and "already has a label version 'v1'" in again.stderr and "--replace" in again.stderr
    con = writer(store_copy)
    for name, error in (("gold", "'gold' is the source's own labels"), ("two words", "not a usable label version name"),
                        ("", "not a usable")):
        with pytest.raises(lossdb.LossdbError, match=error):
            import_labels(con, path, name=name)
    assert snapshot_con(con) == before
    task = next(t for t in tasks if t["annotations"][0]["result"])
    task["annotations"][0]["result"] = []
    path.write_text(json.dumps(tasks), "utf-8")
    summary = import_labels(con, path, name="v1", replace=True)
    assert summary.replaced and summary.n_changed == 1 and "replaced label version 'v1'" in summary.line()
    assert [r["n_changed"] for r in versions.label_versions(con, run="wp").records()] == [0, 1]
    assert core.top(con, 1, labels="v1").rows
    with pytest.raises(lossdb.LossdbError, match="no label version 'v2'.*'gold', 'v1'"):
        core.top(con, 1, labels="v2")
    con.close()
    store = lossdb.connect(store_copy)
    with pytest.raises(lossdb.LossdbError, match="read-only"):
        store.import_labels(path, name="v3")
    assert list(store.label_versions()["version"]) == ["gold", "v1"]
    assert store.diff_labels("v1")["change"].tolist() == ["removed"] * len(versions.entities(
        store.sql("SELECT labels FROM sequences WHERE seq_id = $s", {"s": task["data"]["seq_id"]})["labels"][0]))
    store.close()


def test_hf_dataset_export_loads_back_with_classlabel_names(built_store, tmp_path):
    import datasets

    result = run_cli("export", "--run", "wp", "--to", "hf-dataset", "--all", "--out", str(tmp_path / "ds"),
                     "--db", str(built_store))
    assert result.returncode == 0, result.stderr
    loaded = datasets.load_from_disk(str(tmp_path / "ds"))
    con = duckdb.connect(str(built_store), read_only=True)
    names = list(con.execute("SELECT label_names FROM runs WHERE run_id = 'wp'").fetchone()[0])
    rows = con.execute("SELECT seq_id, seq_key, words, labels FROM sequences WHERE run_id = 'wp' ORDER BY seq_id").fetchall()
    con.close()
    assert loaded.features["ner_tags"].feature.names == names
    assert loaded["seq_id"] == [r[0] for r in rows] and loaded["id"] == [r[1] for r in rows]
    assert loaded["tokens"] == [list(r[2]) for r in rows]
    assert [[names[i] for i in tags] for tags in loaded["ner_tags"]] == [list(r[3]) for r in rows]


def test_export_selects_the_top_label_issues_by_default(built_store, tmp_path):
    result = run_cli("export", "--run", "wp", "--n", "4", "--to", "jsonl", "--out", str(tmp_path / "t.jsonl"),
                     "--db", str(built_store))
    assert result.returncode == 0, result.stderr
    got = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text("utf-8").splitlines()]
    con = duckdb.connect(str(built_store), read_only=True)
    want = [r[0] for r in con.execute("SELECT seq_id FROM sequences ORDER BY label_quality, seq_id LIMIT 4").fetchall()]
    con.close()
    assert [g["seq_id"] for g in got] == want
    assert all(set(g) >= {"run", "seq_id", "seq_key", "words", "labels", "preds", "label_quality"} for g in got)
    bad = run_cli("export", "--ids", "SELECT 'x' AS seq_id", "--to", "jsonl", "--out", str(tmp_path / "u.jsonl"),
                  "--db", str(built_store))
    assert bad.returncode == 2 and "seq_id" in bad.stderr and not (tmp_path / "u.jsonl").exists()
    writes = run_cli("export", "--ids", "DELETE FROM runs", "--to", "jsonl", "--out", str(tmp_path / "u.jsonl"),
                     "--db", str(built_store))
    assert writes.returncode == 2 and "the ids query must only read" in writes.stderr
    assert "--write" not in writes.stderr  # export has no --write to suggest


def test_read_only_label_commands_do_not_import_the_ml_stack(built_store, tmp_path):
    commands = [["labels"], ["diff-labels", "--to", "gold"], ["calibration"], ["decoding"], ["consistency"],
                ["buckets"], ["export", "--to", "jsonl", "--out", str(tmp_path / "e.jsonl")]]
    code = ("import json, sys\nfrom lossdb.cli.app import main\ncommands, db = json.loads(sys.argv[1]), sys.argv[2]\n"
            "for args in commands:\n"
            "    sys.argv = ['lossdb', *args, '--db', db]\n"
            "    try:\n        main()\n    except SystemExit as e:\n        assert not e.code, (args, e.code)\n"
            "heavy = [m for m in ('torch', 'transformers', 'datasets', 'pandas') if m in sys.modules]\n"
            "print('HEAVY', heavy, file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", code, json.dumps(commands), str(built_store)],
                            capture_output=True, text=True)
    assert "HEAVY []" in result.stderr, result.stderr


def test_a_file_from_another_run_matches_by_seq_key(store_copy, tmp_path):
    con = writer(store_copy)
    export_labels(con, tmp_path / "x.jsonl", fmt="jsonl", ids="SELECT seq_id FROM sequences WHERE seq_id < 3")
    lines = [json.loads(line) for line in (tmp_path / "x.jsonl").read_text("utf-8").splitlines()]
    for line in lines:  # as if exported from a run of another model on the same data
        line.update(run="other-model", seq_id=line["seq_id"] + 1000)
    lines[0]["labels"] = ["O"] * len(lines[0]["words"])
    (tmp_path / "x.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines), "utf-8")
    with pytest.raises(StoreError, match="name run 'other-model', which this store does not have"):
        import_labels(con, tmp_path / "x.jsonl", name="moved")  # which run is meant: told, not guessed
    summary = import_labels(con, tmp_path / "x.jsonl", name="moved", run="wp")
    assert summary.n_read == 3
    stored = con.execute("SELECT seq_id, labels FROM sequence_labels WHERE version = 'moved'").fetchall()
    gold0 = con.execute("SELECT labels FROM sequences WHERE seq_id = 0").fetchone()[0]
    assert stored == ([(0, ["O"] * len(lines[0]["words"]))] if any(t != "O" for t in gold0) else [])
    # a file whose rows name two runs is not put into either (nor the newest) unasked
    lines[1]["run"] = "wp"
    (tmp_path / "x.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines), "utf-8")
    with pytest.raises(UsageError, match=r"name 2 runs \('other-model', 'wp'\)") as refused:
        import_labels(con, tmp_path / "x.jsonl", name="mixed")
    assert refused.value.parameter == "run"
    assert con.execute("SELECT count(*) FROM label_versions WHERE version = 'mixed'").fetchone()[0] == 0
    con.close()


def test_importing_a_version_that_changes_nothing_says_so(store_copy, tmp_path):
    exported = tmp_path / "same.jsonl"
    assert run_cli("export", "--to", "jsonl", "--all", "--out", str(exported), "--db", str(store_copy)).returncode == 0
    result = run_cli("import-labels", str(exported), "--as", "same", "--db", str(store_copy))
    assert result.returncode == 0, result.stderr
    assert "0 differ from gold; note: it changes no label" in result.stderr
    edited = [json.loads(line) for line in exported.read_text("utf-8").splitlines()]
    edited[0]["labels"][0] = "B-LOC" if edited[0]["labels"][0] != "B-LOC" else "O"
    exported.write_text("".join(json.dumps(e) + "\n" for e in edited), "utf-8")
    changed = run_cli("import-labels", str(exported), "--as", "one", "--db", str(store_copy))
    assert "1 differs from gold" in changed.stderr and "note" not in changed.stderr.split("differs from gold")[1]


def test_a_file_of_an_unknown_suffix_imports_with_its_format_named(store_copy, tmp_path):
    out = tmp_path / "all.label-studio"  # export takes any suffix it does not know
    assert run_cli("export", "--to", "label-studio", "--all", "--out", str(out), "--db", str(store_copy)).returncode == 0
    refused = run_cli("import-labels", str(out), "--as", "x", "--db", str(store_copy))
    assert refused.returncode == 3 and refused.stderr.startswith(f"lossdb: error: cannot tell the format of {out}")
    assert "name the format (label-studio, conll, jsonl, parquet, hf-dataset)" in refused.stderr
    assert refused.stderr.rstrip().endswith("(--format)")
    named = run_cli("import-labels", str(out), "--as", "x", "--format", "label-studio", "--db", str(store_copy))
    assert named.returncode == 0, named.stderr
    # ingest, which takes no format, asks only for a suffix it knows
    from lossdb.errors import InputError
    from lossdb.ingest import formats

    with pytest.raises(InputError, match="rename the file to .conll") as unknown:
        formats.open_file(out)
    assert "name the format" not in str(unknown.value) and unknown.value.parameter is None


def test_a_version_is_deleted_whole_and_its_name_imports_afresh(store_copy, tmp_path):
    exported = tmp_path / "one.jsonl"
    assert run_cli("export", "--to", "jsonl", "--all", "--out", str(exported), "--db", str(store_copy)).returncode == 0
    edited = [json.loads(line) for line in exported.read_text("utf-8").splitlines()]
    edited[0]["labels"][0] = "B-LOC" if edited[0]["labels"][0] != "B-LOC" else "O"
    exported.write_text("".join(json.dumps(e) + "\n" for e in edited), "utf-8")
    assert run_cli("import-labels", str(exported), "--as", "one", "--db", str(store_copy)).returncode == 0
    deleted = run_cli("labels", "--delete", "one", "--db", str(store_copy))
    assert deleted.returncode == 0 and deleted.stderr.strip() == "lossdb: deleted label version 'one' of run 'wp'"
    left = fetch(store_copy, "SELECT (SELECT count(*) FROM sequence_labels), (SELECT count(*) FROM label_versions), "
                             "(SELECT count(*) FROM version_quality)", one=True)
    assert left == (0, 0, 0)
    again = run_cli("labels", "--delete", "one", "--db", str(store_copy))
    assert again.returncode == 4 and "has no label version 'one'" in again.stderr and "(--delete)" in again.stderr
    nothing = run_cli("export", "--to", "jsonl", "--ids", "SELECT seq_id FROM sequences WHERE false", "--out",
                      str(tmp_path / "none.jsonl"), "--db", str(store_copy))  # an empty review file: refused
    assert nothing.returncode == 2 and "the ids query selects no sequence" in nothing.stderr
    assert not (tmp_path / "none.jsonl").exists()
    gold = run_cli("labels", "--delete", "gold", "--db", str(store_copy))
    assert gold.returncode == 2 and "gold is the source's labels" in gold.stderr
    # a label_versions row deleted by hand leaves rows behind; importing the name again replaces them
    assert run_cli("import-labels", str(exported), "--as", "one", "--db", str(store_copy)).returncode == 0
    con = duckdb.connect(str(store_copy))
    con.execute("DELETE FROM label_versions WHERE version = 'one'")
    con.close()
    assert run_cli("import-labels", str(exported), "--as", "one", "--db", str(store_copy)).returncode == 0
    assert fetch(store_copy, "SELECT count(*) FROM sequence_labels WHERE version = 'one'", one=True) == (1,)
    n_tokens = fetch(store_copy, "SELECT count(*) FROM tokens WHERE run_id = 'wp'", one=True)
    assert fetch(store_copy, "SELECT count(*) FROM token_labels('wp', p_labels := 'one')", one=True) == n_tokens
