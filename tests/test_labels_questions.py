"""The questions a single sequence cannot answer, against gold and a label version, with
expected values worked out here from the token rows: consistency, seen vs unseen, buckets,
calibration, lenient vs strict decoding."""
from __future__ import annotations

import json
import math
import shutil
from collections import Counter

import pytest

import lossdb
from lossdb.ingest.labels import import_labels
from lossdb.queries import db as store_db
from lossdb.queries import versions
from lossdb.queries.versions import entities


@pytest.fixture(scope="module")
def relabelled(built_store, tmp_path_factory):
    """A copy of built_store with version 'v': one occurrence of a recurring LOC retyped to ORG,
    another made O (a JSONL correction). Returns (db, form, seq_retyped, seq_removed)."""
    root = tmp_path_factory.mktemp("questions")
    db = root / "q.duckdb"
    shutil.copy(built_store, db)
    con = store_db.connect(db, read_only=False)
    rows = con.execute("SELECT seq_id, words, labels FROM sequences WHERE run_id = 'wp' ORDER BY seq_id").fetchall()
    where: dict[str, list] = {}
    for seq_id, words, labels in rows:
        for s, e, t in entities(labels):
            if t == "LOC":
                where.setdefault(" ".join(words[s:e]), []).append((seq_id, s, e))
    form, places = max(where.items(), key=lambda kv: (len(kv[1]), kv[0]))
    assert len(places) >= 3
    (retyped, s1, e1), (removed, s2, e2) = places[0], places[1]
    lines = []
    for seq_id, words, labels in rows:
        labels = list(labels)
        if seq_id == retyped:
            labels[s1:e1] = versions.iob2(e1 - s1, [(0, e1 - s1, "ORG")])
        if seq_id == removed:
            labels[s2:e2] = ["O"] * (e2 - s2)
        if seq_id in (retyped, removed):
            lines.append(json.dumps({"run": "wp", "seq_id": seq_id, "words": list(words), "labels": labels}))
    (root / "v.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    assert import_labels(con, root / "v.jsonl", name="v").n_changed == 2
    con.close()
    return db, form, retyped, removed


@pytest.fixture
def con(relabelled):
    """A read connection to the relabelled store, closed after the test."""
    connection = store_db.connect(relabelled[0])
    yield connection
    connection.close()


def _rows(con, labels="v"):
    truth = {s: list(l) for s, l in con.execute("SELECT seq_id, labels FROM sequences WHERE run_id = 'wp'").fetchall()}
    if labels != "gold":
        truth.update({s: list(l) for s, l in con.execute(
            "SELECT seq_id, labels FROM sequence_labels WHERE version = ?", [labels]).fetchall()})
    words = {s: list(w) for s, w in con.execute("SELECT seq_id, words FROM sequences WHERE run_id = 'wp'").fetchall()}
    preds = {s: ["O"] * len(w) for s, w in words.items()}
    for s, w, p in con.execute("SELECT seq_id, word_index, pred FROM tokens WHERE run_id = 'wp' AND label IS NOT NULL").fetchall():
        preds[s][w] = p
    return words, truth, preds


def test_consistency_finds_the_form_read_two_ways(relabelled, con):
    _, form, retyped, removed = relabelled
    words, truth, _ = _rows(con)
    readings, examples = Counter(), {}
    target = form.split(" ")
    for s in sorted(words):
        for a, b, t in entities(truth[s]):
            if words[s][a:b] == target:
                readings[t] += 1
                examples.setdefault(t, []).append(s)
        for i in range(len(words[s]) - len(target) + 1):
            if words[s][i:i + len(target)] == target and all(x == "O" for x in truth[s][i:i + len(target)]):
                readings["O"] += 1
                examples.setdefault("O", []).append(s)
    assert readings["ORG"] >= 1 and readings["O"] >= 1 and retyped in examples["ORG"] and removed in examples["O"]
    every = versions.consistency(con, run="wp", labels="v", examples=10)
    assert versions.consistency(con, run="wp", labels="v", examples=10, n=1).rows == every.rows[:1]  # `--n`
    got = {r["surface"]: r for r in every.records()}
    row = got[form]
    ranked = sorted(readings.items(), key=lambda kv: (-kv[1], kv[0] == "O", kv[0]))
    assert row["n"] == sum(readings.values())
    assert row["readings"] == ", ".join(f"{r} {c}" for r, c in ranked)
    assert row["majority"] == ranked[0][0] and row["n_minority"] == sum(c for _, c in ranked[1:])
    assert row["examples"] == "; ".join(f"{r}: " + ", ".join(map(str, sorted(set(examples[r]))))
                                         for r, _ in ranked[1:])
    gold_forms = {r["surface"] for r in versions.consistency(con, run="wp").records()}
    assert form not in gold_forms  # gold reads it one way


def test_seen_unseen_against_a_training_file_and_a_run(relabelled, con, sentences, tmp_path):
    from lossdb import demo

    db, *_ = relabelled
    train = demo.write_conll(sentences[:15], tmp_path / "train.conll")
    forms = {" ".join(w[s:e]) for w, t in sentences[:15] for s, e, _ in entities(t)}
    words, truth, preds = _rows(con)
    want = {"seen": [0, 0, 0], "unseen": [0, 0, 0]}
    for s in words:
        gold, pred = set(entities(truth[s])), set(entities(preds[s]))
        for span in gold:
            want["seen" if " ".join(words[s][span[0]:span[1]]) in forms else "unseen"][0] += 1
            want["seen" if " ".join(words[s][span[0]:span[1]]) in forms else "unseen"][2] += span in pred
        for span in pred:
            want["seen" if " ".join(words[s][span[0]:span[1]]) in forms else "unseen"][1] += 1
    with lossdb.connect(db, frames=False) as store:  # a data file: the Store opens it as ingest would
        got = {r["bucket"]: r for r in store.seen_unseen(train, run="wp", labels="v").records()}
    for bucket, (g, p, c) in want.items():
        assert (got[bucket]["support"], got[bucket]["n_pred"], got[bucket]["n_correct"]) == (g, p, c)
    assert want["seen"][0] > 0 and want["unseen"][0] > 0
    against_run = {r["bucket"]: r for r in versions.seen_unseen(con, run="wp", train="wp").records()}
    assert against_run["unseen"]["support"] == 0  # every gold entity of a run is in that run
    with pytest.raises(versions.InputError, match="neither a complete run"):
        versions.seen_unseen(con, run="wp", train="no-such-thing")


def test_buckets_count_every_entity_once_per_dimension(con):
    words, truth, preds = _rows(con)
    lengths, seq_lengths = Counter(), Counter()
    for s in words:
        for a, b, _ in entities(truth[s]):
            lengths[str(b - a) if b - a <= 4 else "5+"] += 1
            seq_lengths[len(words[s])] += 1
    rows = versions.buckets(con, run="wp", labels="v").records()
    by_length = {r["bucket"]: r for r in rows if r["dimension"] == "entity_length"}
    assert {k: v["support"] for k, v in by_length.items() if v["support"]} == dict(lengths)
    total = {r["type"]: r for r in versions.decoding(con, run="wp", labels="v").records()}["micro avg"]
    for dimension in versions.BUCKET_DIMENSIONS:
        part = [r for r in rows if r["dimension"] == dimension]
        assert sum(r["support"] for r in part) == total["support_default"]
        assert sum(r["n_pred"] for r in part) == total["n_pred_default"]
        assert sum(r["n_correct"] for r in part) == round(total["recall_default"] * total["support_default"])
    with pytest.raises(versions.UsageError, match="cannot bucket"):
        versions.buckets(con, run="wp", by="colour")


def test_calibration_matches_a_direct_computation(con):
    words, truth, _ = _rows(con)
    names = list(con.execute("SELECT label_names FROM runs WHERE run_id = 'wp'").fetchone()[0])
    tokens = con.execute("SELECT seq_id, word_index, pred, probs FROM tokens WHERE run_id = 'wp' AND label IS NOT NULL").fetchall()
    bins: dict[tuple[str, int], list] = {}
    for s, w, pred, probs in tokens:
        confidence = max(probs)
        assert pred == names[list(probs).index(confidence)]
        b = min(int(math.floor(confidence * 10)), 9)
        for key in ((pred, b), ("(all)", b)):
            bins.setdefault(key, []).append((confidence, float(pred == truth[s][w])))
    ece: dict[str, list] = {}
    for (label, _b), items in bins.items():
        conf = sum(c for c, _ in items) / len(items)
        acc = sum(a for _, a in items) / len(items)
        ece.setdefault(label, []).append((len(items), abs(acc - conf)))
    got = {r["label"]: r for r in versions.calibration(con, run="wp", labels="v").records()}
    assert set(got) == set(ece)
    for label, parts in ece.items():
        n = sum(k for k, _ in parts)
        assert got[label]["n"] == n
        assert got[label]["ece"] == pytest.approx(sum(k * gap for k, gap in parts) / n)
    table = versions.reliability(con, run="wp", labels="v").records()
    assert {(r["label"], r["bin"]): r["n"] for r in table} == {k: len(v) for k, v in bins.items()}
    assert all(r["lower"] <= r["confidence"] <= r["upper"] for r in table)
    with pytest.raises(versions.UsageError, match="bins must be"):
        versions.calibration(con, run="wp", bins=0)


def test_decoding_differences_are_the_entities_only_one_mode_sees_or_judges(con):
    words, truth, preds = _rows(con)
    want = set()
    for s in words:
        decoded = {m: (set(entities(truth[s], m)), set(entities(preds[s], m))) for m in versions.MODES}
        for side, k in (("gold", 0), ("pred", 1)):
            for span in decoded["default"][k] | decoded["strict"][k]:
                verdicts = tuple("none" if span not in decoded[m][k] else
                                 "correct" if span in decoded[m][1 - k] else "wrong" for m in versions.MODES)
                if verdicts[0] != verdicts[1]:
                    want.add((s, side, span, verdicts))
    got = {(r["seq_id"], r["side"], (r["start_word"], r["end_word"], r["type"]), (r["default"], r["strict"]))
           for r in versions.decoding_differences(con, run="wp", labels="v").records()}
    assert got == want and got  # an untrained model predicts stray I- tags, so there are some
    for r in versions.decoding_differences(con, run="wp", labels="v").records():
        if r["strict"] == "none":
            assert r["tags"].split()[0].startswith("I-")
