"""The tag grammar (lossdb.queries.tags) against seqeval, for every scheme and both modes, and
every decoding path in lossdb against the grammar: the numpy decoder over a run's tag codes,
the SQL macros, and the callers that decode tag lists (label versions' questions, the Label
Studio export, the demo)."""
from __future__ import annotations

import itertools
import json
import warnings

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lossdb import demo
from lossdb.errors import UsageError
from lossdb.ingest import label_io
from lossdb.queries import entities as run_entities
from lossdb.queries import tags, versions

from .conftest import run_cli
from .test_entities import assert_matches_seqeval, memory_store

seqeval_scheme = pytest.importorskip("seqeval.scheme")
from seqeval.metrics import classification_report  # noqa: E402
from seqeval.metrics.sequence_labeling import get_entities  # noqa: E402

SEQEVAL_SCHEMES = {name: getattr(seqeval_scheme, name) for name in tags.SCHEMES}
THE_ISSUES_CASE = ["S-PER", "O", "B-LOC", "E-LOC"]

# Tags seqeval reads oddly on purpose: no type ('X', bare 'I'), a type without a prefix (the IO
# scheme's 'PER', read as chunk tag 'P' of type 'ER'), '.', an O with a type, a dashed type.
ODD_TAGS = ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC", "U-PER", "L-PER",
            "B-MISC-X", "I-MISC-X", "X", "I", "B", ".", "O-PER", "PER"]


def scheme_tags(scheme: str) -> list[str]:
    """Every tag of a scheme over two types (and a dashed one): what its data can hold."""
    prefixes = [p for p in tags.Scheme.named(scheme).allowed if p != "O"]
    return ["O", *(f"{p}-{t}" for p in prefixes for t in ("PER", "LOC", "MISC-X"))]


def seqeval_default(seq: list[str]) -> list[tags.Span]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "X seems not to be NE tag"
        return sorted((start, end + 1, type_) for type_, start, end in get_entities(list(seq)))


def seqeval_strict(seq: list[str], scheme: str) -> list[tags.Span] | None:
    """seqeval's strict entities, or None where seqeval refuses the tags."""
    try:
        found = seqeval_scheme.Tokens(list(seq), SEQEVAL_SCHEMES[scheme]).entities
    except (ValueError, KeyError):  # a prefix the scheme does not allow / seqeval does not know
        return None
    return sorted((e.start, e.end, e.tag) for e in found)


def grammar(seq, mode: str, scheme: str = tags.DEFAULT_SCHEME) -> list[tags.Span] | None:
    try:
        return sorted(tags.entities(seq, mode, scheme))
    except UsageError:
        return None


FAST = settings(max_examples=300, deadline=None, derandomize=True)


# --- the grammar is seqeval --------------------------------------------------------------------------


def test_the_issues_case():
    # seqeval finds PER and LOC; the version-path decoder once found S-PER, LOC and E-LOC
    assert seqeval_default(THE_ISSUES_CASE) == [(0, 1, "PER"), (2, 4, "LOC")]
    assert versions.entities(THE_ISSUES_CASE) == [(0, 1, "PER"), (2, 4, "LOC")]
    assert versions.entities(THE_ISSUES_CASE, "strict", "IOBES") == seqeval_strict(THE_ISSUES_CASE, "IOBES")
    assert tags.entities(THE_ISSUES_CASE, "strict", "BIOES") == [(0, 1, "PER"), (2, 4, "LOC")]
    assert demo._entities(THE_ISSUES_CASE) == [(0, 1, "PER"), (2, 4, "LOC")]
    with pytest.raises(UsageError, match="IOB2"):  # strict IOB2 refuses S- and E-, as seqeval does
        tags.entities(THE_ISSUES_CASE, "strict")
    assert seqeval_strict(THE_ISSUES_CASE, "IOB2") is None


@FAST
@given(st.lists(st.sampled_from(ODD_TAGS), max_size=12))
@example(THE_ISSUES_CASE)
@example(["X", "B-PER"])
@example(["B-PER", "O", "X", "I-LOC"])  # a typeless chunk that overlaps an earlier one
def test_default_mode_is_seqevals_get_entities(seq):
    assert grammar(seq, "default") == seqeval_default(seq)


@pytest.mark.parametrize("scheme", tags.SCHEMES)
@FAST
@given(data=st.data())
def test_strict_mode_is_seqevals_for_every_scheme(scheme, data):
    seq = data.draw(st.lists(st.sampled_from(scheme_tags(scheme)), max_size=12))
    want = seqeval_strict(seq, scheme)
    assert want is not None
    assert grammar(seq, "strict", scheme) == want


@pytest.mark.parametrize("scheme", tags.SCHEMES)
@FAST
@given(seq=st.lists(st.sampled_from(ODD_TAGS), max_size=8))
def test_strict_mode_refuses_what_seqeval_refuses(scheme, seq):
    assert grammar(seq, "strict", scheme) == seqeval_strict(seq, scheme)


def test_documented_strict_oddities_are_seqevals():
    # IOB1: B- only separates two entities of one type, so a first B-PER starts nothing
    assert tags.entities(["B-PER", "I-PER"], "strict", "IOB1") == seqeval_strict(["B-PER", "I-PER"], "IOB1") \
        == [(1, 2, "PER")]
    # IOBES: an entity that never reaches its E- or S- tag is no entity
    assert tags.entities(["B-PER", "I-PER", "O", "S-LOC"], "strict", "IOBES") == [(3, 4, "LOC")]
    # a tag None reads as O
    assert tags.entities([None, "B-PER", None]) == [(1, 2, "PER")]


def test_scheme_and_mode_names():
    assert tags.check_scheme("bioes") == "IOBES" and tags.check_scheme("iob2") == "IOB2"
    assert [tags.check_scheme(s) for s in tags.SCHEMES] == list(tags.SCHEMES)
    with pytest.raises(UsageError, match="unknown tag scheme 'IOB3'"):
        tags.check_scheme("IOB3")
    with pytest.raises(UsageError, match="unknown entity mode 'lenient'"):
        tags.entities(["B-PER"], "lenient")
    with pytest.raises(UsageError, match="unknown tag scheme"):  # in either mode
        tags.entities(["B-PER"], "default", "IOB3")
    assert versions.check_mode is tags.check_mode and versions.MODES == tags.MODES == ("default", "strict")


def test_entity_types_and_iob2():
    assert tags.entity_types(["O", "B-PER", "I-PER", "S-LOC", "U-ORG", "B-MISC-X"]) == ["PER", "LOC", "ORG", "MISC-X"]
    assert tags.iob2(4, [(1, 3, "ORG")]) == ["O", "B-ORG", "I-ORG", "O"]
    for spans in ([(0, 1, "PER"), (2, 4, "LOC")], [(0, 3, "ORG")], []):  # iob2 writes what the grammar reads
        assert tags.entities(tags.iob2(5, spans), "strict") == spans


@pytest.mark.parametrize("scheme", tags.SCHEMES)
@FAST
@given(data=st.data())
def test_written_entities_decode_back_in_the_runs_own_scheme(scheme, data):
    """What tags.written writes with a scheme's labels decodes to exactly the entities it was given,
    in the default mode and (for the schemes with start or single tags of their own) in the
    scheme's strict mode, and uses no label the run lacks."""
    names = scheme_tags(scheme)
    n = data.draw(st.integers(0, 10))
    cuts = sorted(data.draw(st.sets(st.integers(0, n), max_size=6)))
    spans = [(s, e, data.draw(st.sampled_from(["PER", "LOC", "MISC-X"]))) for s, e in zip(cuts[::2], cuts[1::2]) if e > s]
    try:
        written = tags.written(n, spans, names)
    except ValueError as e:  # only where the scheme has no tag to start an entity beside another
        assert scheme in ("IOB1", "IOE1") and "cannot tell apart touching entities" in str(e), e
        assert any(e1 == s2 and t1 == t2 for (_, e1, t1), (s2, _, t2) in zip(spans, spans[1:]))
        return
    assert set(written) <= set(names)
    assert sorted(tags.entities(written)) == spans
    if scheme in ("IOB2", "IOBES", "BILOU"):
        assert sorted(tags.entities(written, "strict", scheme)) == spans


def test_written_keeps_gold_and_names_what_the_labels_cannot_write():
    iobes = ["O", "B-PER", "I-PER", "E-PER", "S-PER", "S-LOC"]
    assert tags.written(4, [(0, 2, "PER"), (3, 4, "LOC")], iobes) == ["B-PER", "E-PER", "O", "S-LOC"]
    # an entity gold has is copied as gold writes it (here an IOB1 run's I- start), the new one written
    assert tags.written(4, [(0, 2, "PER"), (3, 4, "PER")], ["O", "B-PER", "I-PER"],
                        keep=["I-PER", "I-PER", "O", "O"]) == ["I-PER", "I-PER", "O", "B-PER"]
    assert tags.written(3, [(0, 2, "ER")], ["O", "PER", "LOC"]) == ["PER", "PER", "O"]  # bare labels (IO)
    with pytest.raises(ValueError, match=r"no label that can start a LOC entity of 2 words \(its LOC labels: S-LOC\)"):
        tags.written(2, [(0, 2, "LOC")], iobes)
    with pytest.raises(ValueError, match="no label that can make a ORG entity"):
        tags.written(2, [(0, 1, "ORG")], iobes)


def test_scores_are_seqevals():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "B-LOC"]]
    report = classification_report(gold, pred, output_dict=True, zero_division=0)
    precision, recall, f1 = tags.scores(n_gold=3, n_pred=4, n_correct=2)
    assert (precision, recall, f1) == pytest.approx(
        [report["micro avg"][k] for k in ("precision", "recall", "f1-score")])
    assert tags.scores(0, 0, 0) == (0.0, 0.0, 0.0)


# --- the SQL macros hold the grammar's rules ---------------------------------------------------------

PREFIXES = [*tags.ANY, ".", "X"]


@pytest.fixture(scope="module")
def sql_con():
    con = memory_store([], ["O"])  # a connection with the schema's macros
    return con


def test_sql_chunk_rules_are_the_grammars(sql_con):
    cases = [(a, b, ta, tb) for a in PREFIXES for b in PREFIXES for ta in ("_", "PER") for tb in ("_", "PER", "LOC")]
    got = sql_con.execute("""
        SELECT seqeval_chunk_start(c[1], c[2], c[3], c[4]), seqeval_chunk_end(c[1], c[2], c[3], c[4])
        FROM (SELECT unnest($cases::VARCHAR[][]) AS c, generate_subscripts($cases::VARCHAR[][], 1) AS i) ORDER BY i
        """, {"cases": [list(c) for c in cases]}).fetchall()
    assert got == [(tags.chunk_start(*c), tags.chunk_end(*c)) for c in cases]


def test_sql_tag_readings_are_the_grammars(sql_con):
    odd = [*ODD_TAGS, "B--PER", "I-PER-", "B-", "-"]
    got = sql_con.execute("SELECT iob_prefix(t), iob_type(t), iob_strict_type(t) FROM unnest($tags) AS u(t)",
                          {"tags": odd}).fetchall()
    assert got == [(*tags.chunk_parts(t), tags.strict_parts(t)[1]) for t in odd]


@pytest.mark.parametrize("scheme", tags.SCHEMES)
def test_sql_scheme_patterns_are_the_grammars(sql_con, scheme):
    rules = tags.Scheme.named(scheme)
    cases = [(a, b, same) for a in PREFIXES for b in PREFIXES for same in (True, False)]
    got = sql_con.execute("""
        SELECT scheme_start($scheme, a, b, same), scheme_inside($scheme, a, b, same), scheme_end($scheme, a, b, same),
               scheme_allows($scheme, b)
        FROM (SELECT unnest($a) AS a, unnest($b) AS b, unnest($same) AS same, unnest($i) AS i) ORDER BY i
        """, {"scheme": scheme, "a": [c[0] for c in cases], "b": [c[1] for c in cases],
              "same": [c[2] for c in cases], "i": list(range(len(cases)))}).fetchall()
    types = {True: ("PER", "PER"), False: ("PER", "LOC")}
    want = []
    for a, b, same in cases:
        prev, tag = (a, types[same][0]), (b, types[same][1])
        want.append((rules.is_start(prev, tag), rules.is_inside(prev, tag), rules.is_end(prev, tag), rules.allows(b)))
    assert got == want


def test_sql_scheme_names(sql_con):
    assert sql_con.execute("SELECT tag_scheme('bioes'), tag_scheme('iob1')").fetchone() == ("IOBES", "IOB1")
    with pytest.raises(Exception, match="unknown tag scheme"):
        sql_con.execute("SELECT tag_scheme('IOB3')").fetchall()


# --- every decoder of a run agrees with the grammar ----------------------------------------------------

RUN_CASES = [("default", "IOB2", ODD_TAGS)] + [("strict", s, scheme_tags(s)) for s in tags.SCHEMES]
RUNS = settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def run_sequences(data, alphabet: list[str]) -> list[tuple[list[str], list[str]]]:
    """(gold, pred) tag lists of a few sequences; some predictions equal their gold tags."""
    pairs = st.lists(st.tuples(st.sampled_from(alphabet), st.sampled_from(alphabet)), max_size=9)
    pairs = st.one_of(pairs, pairs.map(lambda ps: [(g, g) for g, _ in ps]))
    drawn = data.draw(st.lists(pairs, min_size=1, max_size=5))
    return [([g for g, _ in seq], [p for _, p in seq]) for seq in drawn]


def grammar_spans(sequences, mode: str, scheme: str) -> set[tuple]:
    return {(side, seq_id, start, end, type_)
            for seq_id, pair in enumerate(sequences) for side, seq in zip(("gold", "pred"), pair)
            for start, end, type_ in tags.entities(seq, mode, scheme)}


@pytest.mark.parametrize("mode,scheme,alphabet", RUN_CASES, ids=[f"{m}-{s}" for m, s, _ in RUN_CASES])
@RUNS
@given(data=st.data())
def test_run_decoders_agree_with_the_grammar(mode, scheme, alphabet, data):
    sequences = run_sequences(data, alphabet)
    con = memory_store(sequences, alphabet)
    want = grammar_spans(sequences, mode, scheme)
    # the numpy decoder over the stored tag codes
    decoded = run_entities.decode(con, "r", mode=mode, scheme=scheme if mode == "strict" else None)
    fast = {(side, int(s), int(a), int(b), decoded.types[t]) for side, spans in (("gold", decoded.gold),
                                                                               ("pred", decoded.pred))
            for s, a, b, t in zip(spans.seq_id, spans.start_word, spans.end_word, spans.type_id)}
    assert fast == want
    # the SQL macro
    slow = con.execute("SELECT side, seq_id, start_word, end_word, type FROM entity_spans('r', p_mode := ?, "
                       "p_scheme := ?)", [mode, scheme]).fetchall()
    assert len(slow) == len(set(slow)) and set(slow) == want
    # and the scores both give are seqeval's (in default mode, for tags that all have a type:
    # seqeval carries a typeless chunk's start over from the sequence before, see lossdb.queries.tags)
    typeless = any(tags.chunk_parts(t)[1] == "_" and t[:1] not in ("O", ".") for pair in sequences for seq in pair
                   for t in seq)
    if mode == "strict" or not typeless:
        kwargs = {"mode": "strict", "scheme": SEQEVAL_SCHEMES[scheme]} if mode == "strict" else {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report = classification_report([g for g, _ in sequences], [p for _, p in sequences],
                                           output_dict=True, zero_division=0, **kwargs)
        named = scheme if mode == "strict" else None  # (the default mode refuses a scheme)
        assert_matches_seqeval(run_entities.entity_scores(con, run="r", mode=mode, scheme=named).rows, report)
        assert_matches_seqeval(con.execute("SELECT * FROM entity_scores('r', p_mode := ?, p_scheme := ?)",
                                           [mode, scheme]).fetchall(), report)


def test_run_decoders_refuse_tags_outside_the_scheme():
    con = memory_store([(THE_ISSUES_CASE, THE_ISSUES_CASE)], ["O", "S-PER", "B-LOC", "E-LOC"])
    with pytest.raises(UsageError, match="IOB2 scheme .* 'S-PER'"):
        run_entities.entity_scores(con, run="r", mode="strict")
    with pytest.raises(Exception, match="IOB2 scheme does not read the tag"):
        con.execute("SELECT * FROM entity_spans('r', p_mode := 'strict')").fetchall()
    assert run_entities.entity_scores(con, run="r", mode="strict", scheme="BIOES").records()[-3]["n_correct"] == 2
    assert run_entities.entity_scores(con, run="r").records()[-3]["n_correct"] == 2


# --- the callers that decode tag lists --------------------------------------------------------------------

IOBES = ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC"]


@pytest.mark.parametrize("mode,scheme", [("default", "IOB2"), ("strict", "IOBES")])
@settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_version_questions_count_the_entities_lossdb_entities_counts(mode, scheme, data):
    # buckets, seen-unseen and the decoding differences decode tag lists through the grammar;
    # on IOBES data they must find the entities `lossdb entities` finds
    sequences = run_sequences(data, IOBES)
    con = memory_store(sequences, IOBES)
    named = scheme if mode == "strict" else None  # (the default mode refuses a scheme)
    micro = run_entities.entity_scores(con, run="r", mode=mode, scheme=named).records()[-3]
    totals = (micro["support"], micro["n_pred"], micro["n_correct"])
    by_length = versions.buckets(con, run="r", by="entity_length", mode=mode, scheme=named).records()
    assert tuple(sum(r[k] for r in by_length) for k in ("support", "n_pred", "n_correct")) == totals
    seen = versions.seen_unseen(con, run="r", train="r", mode=mode, scheme=named).records()
    assert tuple(sum(r[k] for r in seen) for k in ("support", "n_pred", "n_correct")) == totals
    assert sum(r["support"] for r in seen if r["bucket"] == "seen") == micro["support"]  # its own training set
    # decoding --differences: the entities whose verdict differs, worked out from the grammar
    want = set()
    for seq_id, (gold, pred) in enumerate(sequences):
        decoded = {m: (set(tags.entities(gold, m, "IOBES")), set(tags.entities(pred, m, "IOBES"))) for m in tags.MODES}
        for k, side in enumerate(("gold", "pred")):
            for span in decoded["default"][k] | decoded["strict"][k]:
                verdicts = tuple("none" if span not in decoded[m][k] else "correct" if span in decoded[m][1 - k]
                                 else "wrong" for m in tags.MODES)
                if verdicts[0] != verdicts[1]:
                    want.add((seq_id, side, span, verdicts))
    got = {(r["seq_id"], r["side"], (r["start_word"], r["end_word"], r["type"]), (r["default"], r["strict"]))
           for r in versions.decoding_differences(con, run="r", scheme="IOBES").records()}
    assert got == want


@given(st.lists(st.sampled_from(IOBES), max_size=10))
@settings(max_examples=100, deadline=None, derandomize=True)
@example(THE_ISSUES_CASE)
def test_label_studio_regions_are_the_grammars_entities(seq):
    words = [f"w{i}" for i in range(len(seq))]
    task = label_io.label_studio_task(label_io.ExportSequence("r", 0, "k", words, seq, seq, [0.5] * len(seq)),
                                      model="m")
    text = task["data"]["text"]
    regions = [(r["value"]["text"], r["value"]["labels"]) for r in task["annotations"][0]["result"]]
    assert regions == [(" ".join(words[a:b]), [t]) for a, b, t in tags.entities(seq)]
    assert all(text[r["value"]["start"]:r["value"]["end"]] == r["value"]["text"]
               for r in task["predictions"][0]["result"])


def test_diffs_read_entities_not_tags():
    # the same entities in IOBES and IOB2: only the tags changed
    assert versions.diff_entities(THE_ISSUES_CASE, ["B-PER", "O", "B-LOC", "I-LOC"]) == [("retagged", [], [])]
    assert versions.diff_entities(THE_ISSUES_CASE, ["B-ORG", "O", "B-LOC", "I-LOC"]) == [
        ("retyped", [(0, 1, "PER")], [(0, 1, "ORG")])]


def test_scheme_on_the_command_line(built_store):
    # the tiny store's IOB2 tags read as IOB1: B- only separates two entities, so strict finds fewer
    result = run_cli("decoding", "--scheme", "iob1", "--format", "json", "--db", str(built_store))
    assert result.returncode == 0, result.stderr
    micro = next(r for r in json.loads(result.stdout) if r["type"] == "micro avg")
    assert micro["support_default"] > 0 and micro["support_strict"] < micro["support_default"]
    bad = run_cli("buckets", "--mode", "strict", "--scheme", "IOB3", "--db", str(built_store))
    assert bad.returncode == 2 and "unknown tag scheme 'IOB3'" in bad.stderr


def test_strict_refuses_a_scheme_the_tags_cannot_end_in():
    iob2 = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    iobes = [*iob2, "E-PER", "S-PER", "E-LOC", "S-LOC"]
    for names, scheme in ((iob2, "IOB2"), (iob2, "IOB1"), (iobes, "IOBES"), (["O", "I-PER", "E-PER"], "IOE2"),
                          (["O"], "BILOU")):
        tags.check_strict("strict", scheme, names, "r")  # an entity can end: nothing to say
    tags.check_strict("default", "BILOU", iob2, "r")  # the default mode reads any scheme
    with pytest.raises(UsageError, match=r"BILOU scheme finds no entity in run 'r': its tags \(B-PER, I-PER, "
                                         r"B-LOC, I-LOC\) make none under BILOU") as refused:
        tags.check_strict("strict", "BILOU", iob2, "r")
    assert refused.value.hint == "name the scheme the tags follow: IOB2 or IOB1"
    with pytest.raises(UsageError) as refused:
        tags.check_strict("strict", "IOB2", ["O", "I-PER", "E-PER"], "r")  # IOE tags: B- starts every IOB2 entity
    assert "IOE" in refused.value.hint and refused.value.parameter == "scheme"


@settings(max_examples=80, deadline=None)
@given(st.sets(st.sampled_from(["B-PER", "I-PER", "E-PER", "S-PER", "L-PER", "U-PER", "B-LOC", "I-LOC"]), min_size=1),
       st.sampled_from(tags.SCHEMES), st.lists(st.integers(0, 99), min_size=1, max_size=40))
def test_strict_refuses_only_where_no_entity_can_decode(names, scheme, picks):
    names = ["O", *sorted(names)]
    rules = tags.Scheme.named(scheme)
    allowed = [t for t in names if rules.allows(tags.strict_parts(t)[0])]
    sequence = [allowed[i % len(allowed)] for i in picks]
    try:
        tags.check_strict("strict", scheme, names, "r")
    except UsageError:
        assert tags.entities(sequence, "strict", scheme) == []  # refused: no sequence of these tags makes one
    # and where it lets a scheme through, some short sequence of the tags does make an entity
    else:
        found = any(tags.entities(list(seq), "strict", scheme)
                    for n in (1, 2, 3) for seq in itertools.product(allowed, repeat=n))
        assert found or allowed == ["O"]
