"""Label files without a store: every format round-trips awkward Unicode exactly, character
spans map to words exactly (code points, or UTF-16 units as older Label Studio editors wrote
them), bad spans are reported, never shifted; Label Studio's own converter reads our tasks."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lossdb import demo
from lossdb.ingest import label_io, labels
from lossdb.ingest.label_io import CharSpan, ExportSequence
from lossdb.queries.versions import diff_entities, entities, iob2

from .conftest import run_cli

LABEL_NAMES = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]

# Pieces of words: astral emoji, ZWJ sequences, flags, combining marks (NFD), CJK, Arabic,
# Hebrew, bidi marks, zero-width characters, mathematical alphanumerics, plain ASCII.
PIECES = ["😀", "👨\u200d👩\u200d👧", "🇩🇪", "e\u0301", "u\u0308", "東京", "中", "القاهرة", "ب", "ירושלים",
          "\u200f", "\u200e", "\u200b", "\u200d", "𝔅𝔞", "ß", "İ", "A", "b", "1", ".", "-", "#", "’", "\ufeff"]
word_strategy = st.lists(st.sampled_from(PIECES), min_size=1, max_size=4).map("".join)
spaced_word_strategy = st.one_of(word_strategy, st.tuples(word_strategy, word_strategy).map(" ".join))


@st.composite
def sentences(draw, words=word_strategy):
    n = draw(st.integers(min_value=0, max_value=8))
    sentence_words = draw(st.lists(words, min_size=n, max_size=n))
    tags = draw(st.lists(st.sampled_from(LABEL_NAMES), min_size=n, max_size=n))  # ill-formed IOB included
    return sentence_words, tags


def _sequences(batch) -> list[ExportSequence]:
    return [ExportSequence("r", seq_id, f"key{seq_id}", words, tags, ["O"] * len(words), [0.5] * len(words),
                           1.0, 0.5, 0.9) for seq_id, (words, tags) in enumerate(batch)]


def _stored(seqs: list[ExportSequence]) -> list:
    from lossdb.ingest.score_steps import words_hash

    return [labels._Stored(s.seq_id, s.seq_key, words_hash(s.words), s.words, s.labels) for s in seqs]


def _round_trip(tmp_path, seqs, fmt, suffix):
    out = tmp_path / f"out{suffix}"
    label_io.write_labels(seqs, out, fmt, label_names=LABEL_NAMES, model="m", force=True)
    read = label_io.read_labels(out)
    assert read.format == fmt and len(read.records) == len(seqs) and not read.unannotated
    resolved, problems = labels._resolve(read.records, _stored(seqs), "r", LABEL_NAMES)
    assert problems == []
    return read, resolved


@settings(max_examples=20, deadline=None)
@given(batch=st.lists(sentences(spaced_word_strategy), min_size=1, max_size=4))
def test_label_studio_jsonl_parquet_round_trip_awkward_unicode(tmp_path_factory, batch):
    tmp_path = tmp_path_factory.mktemp("rt")
    seqs = _sequences(batch)
    want = {s.seq_id: s.labels for s in seqs}
    for fmt, suffix in (("label-studio", ".json"), ("jsonl", ".jsonl"), ("parquet", ".parquet")):
        read, resolved = _round_trip(tmp_path, seqs, fmt, suffix)
        assert resolved == want, fmt
        assert [r.words for r in read.records] == [s.words for s in seqs], fmt
    tasks = json.loads((tmp_path / "out.json").read_text("utf-8"))
    for task, seq in zip(tasks, seqs):
        text = task["data"]["text"]
        assert text == " ".join(seq.words)
        for region in task["annotations"][0]["result"] + task["predictions"][0]["result"]:
            value = region["value"]
            assert text[value["start"]:value["end"]] == value["text"]


@settings(max_examples=20, deadline=None)
@given(batch=st.lists(sentences(), min_size=1, max_size=4))
def test_conll_round_trip_awkward_unicode(tmp_path_factory, batch):
    tmp_path = tmp_path_factory.mktemp("rt")
    seqs = _sequences(batch)
    read, resolved = _round_trip(tmp_path, [s for s in seqs if s.words], "conll", ".conll")
    assert resolved == {s.seq_id: s.labels for s in seqs if s.words}
    assert [r.words for r in read.records] == [s.words for s in seqs if s.words]


def test_conll_refuses_words_it_cannot_hold(tmp_path):
    for word in ("New York", "tab\there", "", "-DOCSTART-", "line\u2028break"):
        seqs = _sequences([(["a", word], ["O", "O"])])
        with pytest.raises(label_io.InputError, match="CoNLL cannot hold"):
            label_io.write_labels(seqs, tmp_path / "x.conll", "conll", label_names=LABEL_NAMES, model="m")
        assert not (tmp_path / "x.conll").exists()


def test_existing_output_is_kept_unless_force(tmp_path):
    out = tmp_path / "x.jsonl"
    out.write_text("keep")
    seqs = _sequences([(["a"], ["O"])])
    with pytest.raises(label_io.UsageError, match=r"already exists; choose another path, or replace it \(force=True\)") as refused:
        label_io.write_labels(seqs, out, "jsonl", label_names=LABEL_NAMES, model="m")
    assert refused.value.parameter == "out"  # as plot's and the report's: one refusal for every file written
    assert out.read_text() == "keep"
    label_io.write_labels(seqs, out, "jsonl", label_names=LABEL_NAMES, model="m", force=True)
    assert json.loads(out.read_text())["words"] == ["a"]


def _utf16(text: str, index: int) -> int:
    return len(text[:index].encode("utf-16-le")) // 2


@settings(max_examples=20, deadline=None)
@given(sentence=sentences(spaced_word_strategy).filter(lambda s: s[0]), data=st.data())
def test_spans_map_to_words_exactly_in_code_points_or_utf16(sentence, data):
    words, _ = sentence
    text = " ".join(words)
    offsets = label_io.word_offsets(words)
    i = data.draw(st.integers(0, len(words) - 1))
    j = data.draw(st.integers(i + 1, len(words)))
    start, end = offsets[i][0], offsets[j - 1][1]
    if start == end:  # a span over empty text says nothing
        return
    span = CharSpan(start, end, ["PER"], text[start:end])
    assert label_io.span_words(text, words, span) == ((i, j), None)
    legacy = CharSpan(_utf16(text, start), _utf16(text, end), ["PER"], text[start:end])
    assert label_io.span_words(text, words, legacy, label_io.UTF16) == ((i, j), None)
    # the span alone never reads as code points; it settles UTF-16 unless it fits both
    assert label_io.offset_units(text, [legacy]) in (label_io.UTF16, None)


def test_spans_off_word_boundaries_are_reported_not_shifted():
    words = ["Vereinte", "Nationen", "in", "😀", "New York"]
    text = " ".join(words)
    cases = {
        (0, 5): "end inside a word",
        (1, 8): "start inside a word",
        (0, 10): "end inside a word",  # past the space after the word
        (2, 12): "neither start nor end",
        (0, 200): "outside the text",
    }
    for (start, end), reason in cases.items():
        span = CharSpan(start, end, ["ORG"], text[start:end] if end <= len(text) else "x")
        words_found, why = label_io.span_words(text, words, span)
        assert words_found is None and reason in why, (start, end, why)
    # a selection that took in the space before or after its words is read without it
    for (start, end), found in {(0, 9): (0, 1), (8, 17): (1, 2), (8, 18): (1, 2), (0, 18): (0, 2)}.items():
        assert label_io.span_words(text, words, CharSpan(start, end, ["ORG"], text[start:end])) == (found, None)
    # 'York' alone: inside the word 'New York'
    s = text.index("York")
    assert "start inside a word" in label_io.span_words(text, words, CharSpan(s, s + 4, ["LOC"], "York"))[1]
    # the span's own text disagrees with the offsets under code points and UTF-16 alike
    assert "not the span's text" in label_io.span_words(text, words, CharSpan(0, 8, ["ORG"], "Nationen"))[1]


def test_entities_and_diff_classification():
    assert entities(["O", "I-PER", "I-PER", "B-PER"]) == [(1, 3, "PER"), (3, 4, "PER")]
    assert entities(["O", "I-PER", "I-PER", "B-PER"], "strict") == [(3, 4, "PER")]
    assert iob2(4, [(1, 3, "ORG")]) == ["O", "B-ORG", "I-ORG", "O"]
    before = ["B-PER", "I-PER", "O", "B-ORG", "I-ORG", "I-ORG", "O", "B-LOC", "B-LOC", "O", "B-PER", "O", "I-LOC"]
    after = ["B-ORG", "I-ORG", "O", "B-ORG", "B-ORG", "I-ORG", "O", "B-LOC", "I-LOC", "O", "O", "B-LOC", "B-LOC"]
    # position 12: O I-LOC -> B-LOC decodes to the same entity, so it is no change
    assert diff_entities(before, after) == [
        ("retyped", [(0, 2, "PER")], [(0, 2, "ORG")]),
        ("split", [(3, 6, "ORG")], [(3, 4, "ORG"), (4, 6, "ORG")]),
        ("merged", [(7, 8, "LOC"), (8, 9, "LOC")], [(7, 9, "LOC")]),
        ("removed", [(10, 11, "PER")], []),
        ("added", [], [(11, 12, "LOC")]),
    ]
    assert diff_entities(["B-PER", "I-PER", "O"], ["O", "B-PER", "I-PER"]) == [
        ("reshaped", [(0, 2, "PER")], [(1, 3, "PER")])]
    assert diff_entities(["O", "I-PER"], ["O", "B-PER"]) == [("retagged", [], [])]
    assert diff_entities(["B-PER"], ["B-PER"]) == []


def test_label_studio_converter_reads_our_tasks(tmp_path):
    """Label Studio's own converter (label-studio-converter) parses our labeling config and
    tasks, finds every span's text at its offsets (code points), and its CoNLL export gives our
    words and labels wherever its tokenizer splits the text as we do."""
    converter_module = pytest.importorskip("label_studio_converter")
    batch = [
        (["Angela", "Merkel", "besuchte", "東京", "und", "😀", "heute"], ["B-PER", "I-PER", "O", "B-LOC", "O", "O", "O"]),
        (["القاهرة", "ist", "eine", "Stadt", "in", "مصر"], ["B-LOC", "O", "O", "O", "O", "B-LOC"]),
        (["Jose\u0301", "Mu\u0308ller", "arbeitet", "bei", "👨\u200d👩\u200d👧", "Siemens"], ["B-PER", "I-PER", "O", "O", "O", "B-ORG"]),
        (["ירושלים", "und", "🇩🇪", "Deutsche", "Bahn", "AG"], ["B-LOC", "O", "O", "B-ORG", "I-ORG", "I-ORG"]),
    ]
    seqs = _sequences(batch)
    out = tmp_path / "review.json"
    paths = label_io.write_labels(seqs, out, "label-studio", label_names=LABEL_NAMES, model="m")
    tasks = json.loads(out.read_text("utf-8"))
    for number, task in enumerate(tasks, start=1):  # what Label Studio adds when it exports them back
        task["id"] = number
        for k, annotation in enumerate(task["annotations"]):
            annotation.update(id=100 * number + k, created_at="2024-01-01T00:00:00Z", completed_by=1)
    exported = tmp_path / "ls-export.json"
    exported.write_text(json.dumps(tasks, ensure_ascii=False), "utf-8")
    converter = converter_module.Converter(config=paths[1].read_text("utf-8"), project_dir=None,
                                           download_resources=False)
    assert "CONLL2003" in converter.supported_formats
    converter.convert(str(exported), str(tmp_path / "min"), "JSON_MIN", is_dir=False)
    records = json.loads((tmp_path / "min" / "result.json").read_text("utf-8"))
    assert [r["seq_id"] for r in records] == [s.seq_id for s in seqs]
    for record, seq in zip(records, seqs):
        spans = record.get("label", [])
        assert [(s["start"], s["end"]) for s in spans] == [
            (label_io.word_offsets(seq.words)[a][0], label_io.word_offsets(seq.words)[b - 1][1])
            for a, b, _ in entities(seq.labels)]
        assert all(record["text"][s["start"]:s["end"]] == s["text"] for s in spans)
    converter.convert(str(exported), str(tmp_path / "conll"), "CONLL2003", is_dir=False)
    blocks = (tmp_path / "conll" / "result.conll").read_text("utf-8").split("\n\n")
    sentences_read = [[line.split(" -X- _ ") for line in block.splitlines() if not line.startswith("-DOCSTART-")]
                      for block in blocks]
    sentences_read = [s for s in sentences_read if s]
    assert len(sentences_read) == len(seqs)
    for got, seq in zip(sentences_read, seqs):
        assert [w for w, _ in got] == seq.words
        assert [t for _, t in got] == seq.labels
    # and our reader takes the Label Studio export back to the same labels
    read = label_io.read_labels(exported)
    resolved, problems = labels._resolve(read.records, _stored(seqs), "r", LABEL_NAMES)
    assert problems == [] and resolved == {s.seq_id: s.labels for s in seqs}


def test_latest_uncancelled_annotation_wins_and_unannotated_tasks_are_counted(tmp_path):
    seqs = _sequences([(["Angela", "Merkel"], ["B-PER", "I-PER"]), (["Bonn"], ["B-LOC"])])
    out = tmp_path / "t.json"
    label_io.write_labels(seqs, out, "label-studio", label_names=LABEL_NAMES, model="m")
    tasks = json.loads(out.read_text("utf-8"))
    first = tasks[0]["annotations"][0]
    retyped = json.loads(json.dumps(first))
    retyped["result"][0]["value"]["labels"] = ["ORG"]
    retyped["updated_at"] = "2024-02-01T00:00:00Z"
    cancelled = json.loads(json.dumps(first))
    cancelled["result"] = []
    cancelled.update(was_cancelled=True, updated_at="2025-01-01T00:00:00Z")
    first["updated_at"] = "2024-01-01T00:00:00Z"
    tasks[0]["annotations"] = [first, retyped, cancelled]
    tasks[1]["annotations"] = []
    out.write_text(json.dumps(tasks), "utf-8")
    read = label_io.read_labels(out)
    assert len(read.records) == 1 and len(read.unannotated) == 1
    resolved, problems = labels._resolve(read.records, _stored(seqs), "r", LABEL_NAMES)
    assert problems == [] and resolved == {0: ["B-ORG", "I-ORG"]}


def test_a_task_of_text_alone_is_matched_by_its_text(tmp_path):
    seqs = _sequences([(["Angela", "Merkel"], ["B-PER", "I-PER"]), (["in", "Bonn"], ["O", "B-LOC"])])
    out = tmp_path / "t.json"
    label_io.write_labels(seqs, out, "label-studio", label_names=LABEL_NAMES, model="m")
    tasks = json.loads(out.read_text("utf-8"))
    for task in tasks:  # as a project built from plain text would hold them
        task["data"] = {"text": task["data"]["text"]}
    tasks[1]["annotations"][0]["result"][0]["value"]["labels"] = ["ORG"]
    out.write_text(json.dumps(tasks), "utf-8")
    resolved, problems = labels._resolve(label_io.read_labels(out).records, _stored(seqs), "r", LABEL_NAMES)
    assert problems == [] and resolved == {0: ["B-PER", "I-PER"], 1: ["O", "B-ORG"]}
    tasks[1]["data"]["text"] = "in Bonn ."
    out.write_text(json.dumps(tasks), "utf-8")
    _, problems = labels._resolve(label_io.read_labels(out).records, _stored(seqs), "r", LABEL_NAMES)
    assert problems == ["t.json, task 1: no sequence of run 'r' has its text"], problems


def test_malformed_annotations_are_refused_not_read_as_no_entities(tmp_path):
    from lossdb.errors import InputError

    seqs = _sequences([(["Angela", "Merkel"], ["B-PER", "I-PER"])])
    out = tmp_path / "t.json"
    label_io.write_labels(seqs, out, "label-studio", label_names=LABEL_NAMES, model="m")
    exported = json.loads(out.read_text("utf-8"))
    for broken, said in (({"annotations": {"x": 1}}, "its annotations are dict, not a list"),
                         ({"result": {"x": 1}}, "its annotation's result is dict, not a list of regions"),
                         ({"result": ["label"]}, "a region of its annotation's result is str, not an object")):
        tasks = json.loads(json.dumps(exported))
        if "annotations" in broken:
            tasks[0]["annotations"] = broken["annotations"]
        else:
            tasks[0]["annotations"][0]["result"] = broken["result"]
        out.write_text(json.dumps(tasks), "utf-8")
        with pytest.raises(InputError, match=f"t.json, task 0: {said}"):
            label_io.read_labels(out)


def test_words_hash_is_what_ingest_stores():
    from lossdb.ingest.score_steps import words_hash

    assert words_hash(["a", "b"]) == hashlib.md5("a\x1fb".encode()).hexdigest()


def _scheme_run(tmp_path, model_dirs, labels, data):
    """A store with run 'sc' scored by a tiny model whose labels are `labels`, over `data`
    ((words, tags) pairs written in that scheme), and its Label Studio export."""
    from lossdb.ingest import ingest
    from lossdb.ingest.labels import export_labels
    from lossdb.queries import db as store_db

    model = demo.build_model(Path(model_dirs["wordpiece"]), tmp_path / "model", labels=labels, kind="wordpiece")
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps({"words": w, "tags": t}) + "\n" for w, t in data), "utf-8")
    db = tmp_path / "sc.duckdb"
    ingest(str(model), str(path), db=str(db), run="sc", progress=False)
    con = store_db.connect(db, read_only=False)
    export_labels(con, tmp_path / "tasks.json", fmt="label-studio", everything=True)
    con.close()
    return db, json.loads((tmp_path / "tasks.json").read_text("utf-8"))


def _relabel(task, spans):
    offsets = label_io.word_offsets(task["data"]["words"])
    text = task["data"]["text"]
    task["annotations"] = [{"id": 1, "result": [
        {"id": f"r{k}", "from_name": "label", "to_name": "text", "type": "labels",
         "value": {"start": offsets[s][0], "end": offsets[e - 1][1], "text": text[offsets[s][0]:offsets[e - 1][1]],
                   "labels": [t]}} for k, (s, e, t) in enumerate(spans)]}]


def test_label_studio_spans_are_written_in_the_runs_own_scheme(tmp_path, model_dirs):
    """An annotator's spans come back as tags of the run's scheme (IOBES here, I- only below), the
    entities they left alone as gold wrote them; what the scheme cannot write is refused."""
    from lossdb.queries import db as store_db

    iobes = ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC"]
    words = ["Anna", "Maria", "Schmidt", "wohnt", "in", "Ulm", "bei", "Paul"]
    gold = ["B-PER", "I-PER", "E-PER", "O", "O", "S-LOC", "O", "S-PER"]
    db, tasks = _scheme_run(tmp_path / "iobes", model_dirs, iobes, [(words, gold)])
    # Ulm retyped to PER, Paul left alone, Anna Maria Schmidt cut to Maria Schmidt
    _relabel(tasks[0], [(1, 3, "PER"), (5, 6, "PER"), (7, 8, "PER")])
    (tmp_path / "edited.json").write_text(json.dumps(tasks), "utf-8")
    result = run_cli("import-labels", str(tmp_path / "edited.json"), "--as", "fix", "--db", str(db))
    assert result.returncode == 0, result.stderr
    con = store_db.connect(db)
    stored = con.execute("SELECT labels FROM sequence_labels WHERE version = 'fix'").fetchone()[0]
    con.close()
    assert list(stored) == ["O", "B-PER", "E-PER", "O", "O", "S-PER", "O", "S-PER"]
    diff = run_cli("diff-labels", "--run", "sc", "--to", "fix", "-f", "json", "--db", str(db))
    changes = sorted((r["change"], r["before"], r["after"]) for r in json.loads(diff.stdout))
    assert changes == [("reshaped", "[PER Anna Maria Schmidt] 0:3", "[PER Maria Schmidt] 1:3"),
                       ("retyped", "[LOC Ulm] 5:6", "[PER Ulm] 5:6")], diff.stdout

    # I- only (IO): touching entities of one type cannot be told apart, so they are refused
    io = ["O", "I-PER", "I-LOC"]
    db, tasks = _scheme_run(tmp_path / "io", model_dirs, io, [(words, ["I-PER", "I-PER", "I-PER", "O", "O", "I-LOC",
                                                                       "O", "I-PER"])])
    _relabel(tasks[0], [(0, 3, "PER"), (5, 6, "PER"), (7, 8, "LOC")])
    (tmp_path / "io.json").write_text(json.dumps(tasks), "utf-8")
    assert run_cli("import-labels", str(tmp_path / "io.json"), "--as", "fix", "--db", str(db)).returncode == 0
    con = store_db.connect(db)
    assert list(con.execute("SELECT labels FROM sequence_labels").fetchone()[0]) == [
        "I-PER", "I-PER", "I-PER", "O", "O", "I-PER", "O", "I-LOC"]
    con.close()
    before = db.read_bytes()
    _relabel(tasks[0], [(0, 1, "PER"), (1, 3, "PER")])
    (tmp_path / "io.json").write_text(json.dumps(tasks), "utf-8")
    refused = run_cli("import-labels", str(tmp_path / "io.json"), "--as", "split", "--db", str(db))
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "labels (I-PER) cannot tell apart touching entities: PER at word 0, PER at words 1-2" in refused.stderr
    assert db.read_bytes() == before
