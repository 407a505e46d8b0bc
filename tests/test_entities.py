"""Entity-level evaluation: equal to seqeval (default and strict IOB2 modes; tests/test_tags.py
covers every scheme) on the tiny models' stores, on random tag sequences and on real PAN-X;
entity error types worked out by hand."""
from __future__ import annotations

import json
import math
import warnings
from collections import defaultdict

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lossdb
from lossdb.errors import UsageError
from lossdb.queries import db as store_db
from lossdb.queries import entities

from .conftest import PANX, PANX_MODEL, needs_shared, run_cli

seqeval_metrics = pytest.importorskip("seqeval.metrics")
from seqeval.scheme import IOB1, IOB2, IOBES  # noqa: E402

PANX_LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]


# --- helpers ---------------------------------------------------------------------------------------


def word_tags(con, run: str) -> tuple[list[int], list[list[str]], list[list[str]]]:
    """(seq_ids, gold, pred) straight from the tokens table: each word's first-subword row."""
    rows = con.execute("SELECT seq_id, label, pred FROM tokens WHERE run_id = ? AND label IS NOT NULL "
                       "ORDER BY seq_id, position", [run]).fetchall()
    gold, pred = defaultdict(list), defaultdict(list)
    for seq_id, label, p in rows:
        gold[seq_id].append(label)
        pred[seq_id].append(p)
    ids = sorted(gold)
    return ids, [gold[i] for i in ids], [pred[i] for i in ids]


def seqeval_report(gold, pred, mode: str) -> dict:
    kwargs = {"mode": "strict", "scheme": IOB2} if mode == "strict" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return seqeval_metrics.classification_report(gold, pred, output_dict=True, zero_division=0, **kwargs)


def assert_matches_seqeval(rows, report: dict) -> None:
    got = {r[0]: r for r in rows}
    assert set(got) == set(report), (sorted(got), sorted(report))
    for name, want in report.items():
        row = got[name]
        for value, key in zip(row[1:4], ("precision", "recall", "f1-score")):
            if math.isnan(want[key]):  # seqeval's macro average over no entity type
                assert value is None, (name, key)
            else:
                assert value == pytest.approx(want[key], abs=1e-12), (name, key)
        assert row[4] == want["support"], name


_MEMORY = {}


def memory_store(sequences: list[tuple[list[str], list[str]]], label_names: list[str]):
    """An in-memory store with one complete run 'r': one word = one token, labelled (gold,
    pred) as given, probabilities one-hot on the prediction. The schema is applied once per
    session; each call replaces the rows."""
    con = _MEMORY.get("con")
    if con is None:
        con = _MEMORY["con"] = duckdb.connect()
        store_db.apply_schema(con)
    for table in ("tokens", "sequences", "runs"):
        con.execute(f"DELETE FROM {table}")
    con.execute("INSERT INTO runs (run_id, created_at, finished_at, status, model, data_source, label_names, "
                "lossdb_version) VALUES ('r', now(), now(), 'complete', 'm', 'mem', ?, 'test')", [label_names])
    rows = [(s, w, g, p) for s, (gold, pred) in enumerate(sequences) for w, (g, p) in enumerate(zip(gold, pred))]
    if rows:
        seq, word, gold, pred = (list(c) for c in zip(*rows))
        con.execute("""
            INSERT INTO tokens
            SELECT 'r', s, w, 'w' || w, w, w, g, p, CASE WHEN g = p THEN 0.0 ELSE 5.0 END,
                   [CASE WHEN name = p THEN 1.0 ELSE 0.0 END FOR name IN $names]
            FROM (SELECT unnest($seq) AS s, unnest($word) AS w, unnest($gold) AS g, unnest($pred) AS p)""",
                    {"seq": seq, "word": word, "gold": gold, "pred": pred, "names": label_names})
    con.execute("""
        INSERT INTO sequences (run_id, seq_id, seq_key, source_id, words_hash, words, labels, n_tokens, n_windows,
                               truncated, total_loss, mean_loss, n_labelled, n_errors, max_loss, label_quality)
        SELECT 'r', s, 'k' || s, NULL, 'k' || s, [('w' || i) FOR i IN range(len(g))], g, len(g), 1, false,
               0, 0, len(g), 0, 0, 1
        FROM (SELECT unnest($seq) AS s, unnest($gold) AS g)""",
                {"seq": list(range(len(sequences))), "gold": [g for g, _ in sequences]})
    store_db.fill_word_codes(con)  # the tag codes, from the token rows, as `lossdb upgrade` fills them
    return con


# --- the tiny models' stores ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["default", "strict"])
def test_entity_scores_equal_seqeval(built_store, mode):
    con = store_db.connect(built_store)
    _, gold, pred = word_tags(con, "wp")
    report = seqeval_report(gold, pred, mode)
    assert_matches_seqeval(entities.entity_scores(con, run="wp", mode=mode).rows, report)
    # the SQL macro for ad-hoc queries gives the same table
    sql_rows = con.execute("SELECT * FROM entity_scores('wp', p_mode := ?)", [mode]).fetchall()
    assert_matches_seqeval(sql_rows, report)
    assert [r[0] for r in sql_rows][-3:] == ["micro avg", "macro avg", "weighted avg"]


@pytest.mark.parametrize("mode", ["default", "strict"])
def test_entity_spans_are_seqevals_entities(built_store, mode):
    from seqeval.metrics.sequence_labeling import get_entities
    from seqeval.scheme import Entities

    con = store_db.connect(built_store)
    ids, gold, pred = word_tags(con, "wp")
    spans = con.execute("SELECT side, seq_id, type, start_word, end_word FROM entity_spans('wp', p_mode := ?)",
                        [mode]).fetchall()
    for side, tags in (("gold", gold), ("pred", pred)):
        if mode == "strict":
            want = sorted((ids[e.sent_id], e.tag, e.start, e.end) for sent in Entities(tags, IOB2).entities for e in sent)
        else:
            want = sorted((ids[i], t, a, b + 1) for i, seq in enumerate(tags) for t, a, b in get_entities(seq))
        assert sorted((s, t, a, b) for sd, s, t, a, b in spans if sd == side) == want


def test_entities_cli_in_every_format(built_store):
    result = run_cli("entities", "--format", "json", "--db", str(built_store))
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert rows[-3]["type"] == "micro avg"
    con = store_db.connect(built_store)
    _, gold, pred = word_tags(con, "wp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert rows[-3]["f1"] == pytest.approx(seqeval_metrics.f1_score(gold, pred))
    for out in ("table", "csv", "markdown"):
        result = run_cli("entities", "--mode", "strict", "--format", out, "--db", str(built_store))
        assert result.returncode == 0 and "micro avg" in result.stdout, result.stderr
    bad = run_cli("entities", "--mode", "lenient", "--db", str(built_store))
    assert bad.returncode == 2 and "unknown entity mode" in bad.stderr
    # strict mode for another scheme: IOB2 tags read as IOB1, where B- only separates two entities
    iob1 = run_cli("entities", "--mode", "strict", "--scheme", "iob1", "--format", "json", "--db", str(built_store))
    assert iob1.returncode == 0, iob1.stderr
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = seqeval_metrics.classification_report(gold, pred, mode="strict", scheme=IOB1, output_dict=True,
                                                     zero_division=0)
    assert_matches_seqeval([tuple(r.values()) for r in json.loads(iob1.stdout)], want)
    # as IOBES, where an entity must end in E- or S-, these tags make no entity at all: seqeval
    # scores that 0 everywhere; lossdb says the scheme is wrong, and which ones fit
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert seqeval_metrics.classification_report(gold, pred, mode="strict", scheme=IOBES, output_dict=True,
                                                     zero_division=0)["micro avg"]["support"] == 0
    for command in (["entities"], ["summary"], ["buckets"], ["decoding"]):
        refused = run_cli(*command, "--mode", "strict", "--scheme", "bioes", "--db", str(built_store)) \
            if command[0] != "decoding" else run_cli(*command, "--scheme", "bioes", "--db", str(built_store))
        assert refused.returncode == 2 and refused.stdout == "", refused.stdout
        assert refused.stderr.startswith("lossdb: error: strict mode with the IOBES scheme finds no entity in run "
                                         "'wp': its tags (B-"), refused.stderr
        assert refused.stderr.rstrip().endswith("name the scheme the tags follow: IOB2 or IOB1 (--scheme)")
    with pytest.raises(UsageError, match="finds no entity"):
        lossdb.connect(built_store).entity_scores(mode="strict", scheme="BILOU")
    assert len(lossdb.connect(built_store).entity_scores(mode="default"))  # the default mode reads any tags
    bad = run_cli("entities", "--mode", "strict", "--scheme", "IOB3", "--db", str(built_store))
    assert bad.returncode == 2 and "unknown tag scheme 'IOB3'" in bad.stderr
    # a scheme beside the default (lenient) mode, which would ignore it as seqeval does: refused
    for command in (["entities"], ["entities", "--errors"], ["summary"], ["buckets"]):
        ignored = run_cli(*command, "--scheme", "IOBES", "--db", str(built_store))
        assert ignored.returncode == 2 and ignored.stdout == "", ignored.stdout
        assert ignored.stderr.strip() == ("lossdb: error: --scheme IOBES applies to strict decoding only, and --mode "
                                          "is default; add --mode strict, or leave out --scheme (the default mode "
                                          "reads every scheme's tags)"), ignored.stderr
    # and in Python alike, by every function that takes a scheme
    store = lossdb.connect(built_store)
    for call in (lambda: store.entity_scores(scheme="BILOU"), lambda: store.entity_errors(scheme="IOBES"),
                 lambda: store.summary(scheme="IOBES"), lambda: store.buckets(scheme="IOBES"),
                 lambda: store.seen_unseen("wp", scheme="IOBES")):
        with pytest.raises(UsageError, match="scheme '(BILOU|IOBES)' applies to strict decoding only, and mode is 'default'"
                           ) as refused:
            call()
        assert refused.value.parameter == "scheme"
    assert len(store.decoding(scheme="IOB1")) and len(store.entity_scores(mode="strict", scheme="IOB1"))


# --- random tag sequences --------------------------------------------------------------------------------

IOB2_TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-MISC-X", "I-MISC-X"]
ANY_TAGS = [*IOB2_TAGS, "E-PER", "S-PER", "E-LOC", "S-LOC"]
# and a tag without a type, which seqeval reads into entities that overlap and start early
ODD_TAGS = [*ANY_TAGS, "X"]


def tag_lists(tags, sometimes_agree: bool = False):
    """Sequences of (gold, pred) tag pairs; with sometimes_agree, some sequences' predictions
    equal their gold tags (exact matches, which independent draws almost never make)."""
    words = st.lists(st.tuples(st.sampled_from(tags), st.sampled_from(tags)), min_size=0, max_size=9)
    if sometimes_agree:
        words = st.one_of(words, words.map(lambda pairs: [(g, g) for g, _ in pairs]))
    return st.lists(words, min_size=1, max_size=6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tag_lists(ANY_TAGS, sometimes_agree=True))
def test_default_mode_equals_seqeval_on_random_tags(data):
    # (not ODD_TAGS: seqeval carries a typeless chunk's start over from an earlier sentence,
    # where lossdb starts it at its own sentence; see lossdb.queries.entities.decode_codes)
    sequences = [([g for g, _ in seq], [p for _, p in seq]) for seq in data]
    con = memory_store(sequences, ANY_TAGS)
    report = seqeval_report([g for g, _ in sequences], [p for _, p in sequences], "default")
    assert_matches_seqeval(entities.entity_scores(con, run="r").rows, report)
    assert_matches_seqeval(con.execute("SELECT * FROM entity_scores('r')").fetchall(), report)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tag_lists(IOB2_TAGS))
def test_strict_mode_equals_seqeval_on_random_tags(data):
    sequences = [([g for g, _ in seq], [p for _, p in seq]) for seq in data]
    con = memory_store(sequences, IOB2_TAGS)
    report = seqeval_report([g for g, _ in sequences], [p for _, p in sequences], "strict")
    assert_matches_seqeval(entities.entity_scores(con, run="r", mode="strict").rows, report)
    assert_matches_seqeval(con.execute("SELECT * FROM entity_scores('r', p_mode := 'strict')").fetchall(), report)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tag_lists(ODD_TAGS, sometimes_agree=True))
def test_error_types_agree_between_sql_and_numpy(data):
    sequences = [([g for g, _ in seq], [p for _, p in seq]) for seq in data]
    con = memory_store(sequences, ODD_TAGS)
    fast = entities.entity_errors(con, run="r", by="entity")
    slow = con.execute("SELECT seq_id, category, gold_type, gold_start, gold_end, pred_type, pred_start, pred_end "
                       "FROM entity_errors('r')").fetchall()
    mine = [(r[0], r[1], r[2], r[3], r[4], r[6], r[7], r[8]) for r in fast.rows]
    assert sorted(mine, key=repr) == sorted(slow, key=repr)
    scores = {r[0]: r for r in entities.entity_scores(con, run="r").rows}
    assert sum(r[1] == "correct" for r in mine) == scores["micro avg"][6]
    assert sum(r[1] != "spurious" for r in mine) == scores["micro avg"][4]


def test_strict_mode_refuses_tags_outside_iob2():
    con = memory_store([(["S-PER", "O"], ["S-PER", "O"])], ["O", "S-PER"])
    with pytest.raises(UsageError, match="IOB2"):
        entities.entity_scores(con, run="r", mode="strict")


# --- error types, worked out by hand ---------------------------------------------------------------------------

HAND = [
    (["B-PER", "I-PER", "O", "B-LOC"], ["B-PER", "I-PER", "O", "B-ORG"]),    # PER correct, LOC wrong type
    (["B-ORG", "I-ORG", "I-ORG", "O"], ["B-ORG", "I-ORG", "O", "O"]),        # ORG wrong boundary
    (["O", "B-PER", "I-PER", "O"], ["O", "O", "B-LOC", "I-LOC"]),            # PER wrong type and boundary
    (["B-LOC", "O", "O"], ["O", "O", "B-PER"]),                              # LOC missed, PER spurious
    (["O", "O"], ["I-LOC", "O"]),                                            # default mode: a spurious LOC
]
HAND_LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]


def test_error_types_by_entity():
    con = memory_store(HAND, HAND_LABELS)
    rows = entities.entity_errors(con, run="r", by="entity").records()
    got = [(r["seq_id"], r["category"], r["gold_type"], r["gold_start"], r["gold_end"],
            r["pred_type"], r["pred_start"], r["pred_end"]) for r in rows]
    assert got == [
        (0, "correct", "PER", 0, 2, "PER", 0, 2),
        (0, "wrong_type", "LOC", 3, 4, "ORG", 3, 4),
        (1, "wrong_boundary", "ORG", 0, 3, "ORG", 0, 2),
        (2, "wrong_type_and_boundary", "PER", 1, 3, "LOC", 2, 4),
        (3, "missed", "LOC", 0, 1, None, None, None),
        (3, "spurious", None, None, None, "PER", 2, 3),
        (4, "spurious", None, None, None, "LOC", 0, 1),
    ]
    assert rows[0]["gold_text"] == "w0 w1" and rows[2]["pred_text"] == "w0 w1"
    only = entities.entity_errors(con, run="r", by="entity", category="spurious", n=1).rows
    assert [(r[0], r[1]) for r in only] == [(3, "spurious")]
    assert [r[1] for r in entities.entity_errors(con, run="r", by="entity", seq_id=2).rows] == ["wrong_type_and_boundary"]


def test_error_types_by_type_and_by_sequence():
    con = memory_store(HAND, HAND_LABELS)
    by_type = {r["type"]: r for r in entities.entity_errors(con, run="r", by="type").records()}
    assert by_type["PER"] == {"type": "PER", "n_gold": 2, "n_pred": 2, "correct": 1, "wrong_type": 0,
                                    "wrong_boundary": 0, "wrong_type_and_boundary": 1, "missed": 0, "spurious": 1}
    assert (by_type["LOC"]["wrong_type"], by_type["LOC"]["missed"], by_type["LOC"]["spurious"]) == (1, 1, 1)
    assert by_type["ORG"]["wrong_boundary"] == 1 and by_type["ORG"]["n_pred"] == 2
    assert by_type["all"]["n_gold"] == 5 and by_type["all"]["spurious"] == 2
    by_seq = entities.entity_errors(con, run="r", by="sequence").records()
    assert [(r["seq_id"], r["n_errors"]) for r in by_seq] == [(3, 2), (0, 1), (1, 1), (2, 1), (4, 1)]
    assert by_seq[0]["text"] == "w0 w1 w2"
    # strict IOB2: the stray I-LOC of sequence 4 is no entity
    strict = {r["type"]: r for r in entities.entity_errors(con, run="r", by="type", mode="strict").records()}
    assert strict["all"]["spurious"] == 1


def test_entity_errors_cli(built_store):
    result = run_cli("entities", "--errors", "--by", "entity", "--n", "5", "--format", "json", "--db", str(built_store))
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 5 and {r["category"] for r in rows} <= set(entities.CATEGORIES)
    result = run_cli("entities", "--errors", "--db", str(built_store))
    assert result.returncode == 0 and result.stdout.splitlines()[-1].startswith("all"), result.stderr
    bad = run_cli("entities", "--errors", "--by", "entity", "--category", "oops", "--db", str(built_store))
    assert bad.returncode == 2 and "category" in bad.stderr


# --- real data ---------------------------------------------------------------------------------------------------


@needs_shared
@pytest.mark.parametrize("mode", ["default", "strict"])
def test_entity_scores_equal_seqeval_on_panx(mode, panx_store):
    con = store_db.connect(panx_store)
    _, gold, pred = word_tags(con, "panx")
    report = seqeval_report(gold, pred, mode)
    assert report["micro avg"]["f1-score"] > 0.5  # a real model: the numbers mean something
    assert_matches_seqeval(entities.entity_scores(con, run="panx", mode=mode).rows, report)
    assert_matches_seqeval(con.execute("SELECT * FROM entity_scores('panx', p_mode := ?)", [mode]).fetchall(), report)


@pytest.fixture(scope="module")
def panx_store(tmp_path_factory):
    if not (PANX.exists() and PANX_MODEL.exists()):
        pytest.skip("../shared is not present")
    from lossdb.ingest import ingest

    path = tmp_path_factory.mktemp("panx") / "panx.duckdb"
    ingest(str(PANX_MODEL), str(PANX), db=str(path), run="panx", limit=1000, progress=False, device="cpu")
    return path
