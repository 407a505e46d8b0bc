"""One reader per format: a file reads the same through ingest and import-labels (BOM,
-DOCSTART-, index columns, column preference), and the readers' and writers' defects of the
"nothing lost" issue stay fixed: Label Studio regions must name entity types, offset units are
decided per task from all its spans, hf-dataset --force replaces only lossdb's own exports,
write failures are one line with nothing left behind; a corrected copy of a whole scored file
with repeated sentences imports by position."""
from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lossdb.ingest import label_io, labels, open_source
from lossdb.ingest.labels import LabelImportError, export_labels, import_labels
from lossdb.ingest.score_steps import words_hash
from lossdb.queries import db as store_db

from .conftest import run_cli

LABEL_NAMES = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]
SENTENCES = [
    (["Angela", "Merkel", "besuchte", "Bonn", "."], ["B-PER", "I-PER", "O", "B-LOC", "O"]),
    (["1990", "war", "die", "Deutsche", "Bahn", "neu"], ["O", "O", "O", "B-ORG", "I-ORG", "O"]),
    (["7"], ["O"]),
]


def through_ingest(path) -> list[tuple]:
    return [(e.words, e.tags, e.source_id) for e in open_source(str(path))]


def through_import(path) -> list[tuple]:
    read = label_io.read_labels(path)
    return [(r.words, r.tags, r.id) for r in read.records]


def reads_the_same(path, want) -> None:
    assert through_ingest(path) == want
    assert through_import(path) == want


def plain(sentences=SENTENCES) -> list[tuple]:
    return [(list(w), list(t), None) for w, t in sentences]


def test_conll_with_bom_docstart_and_extra_columns_reads_the_same_everywhere(tmp_path):
    path = tmp_path / "bom.conll"
    body = "-DOCSTART- -X- O O\n\n" + "\n\n".join(
        "\n".join(f"{w} NN I-NP {t}" for w, t in zip(words, tags)) for words, tags in SENTENCES) + "\n"
    path.write_bytes(b"\xef\xbb\xbf" + body.encode("utf-8"))
    reads_the_same(path, plain())


def test_conll_index_column_is_decided_once_per_file(tmp_path):
    indexed = tmp_path / "indexed.conllu"
    indexed.write_text("-DOCSTART-\t-DOCSTART-\tO\n\n" + "\n\n".join(
        "# sent_id = %d\n" % k + "\n".join(f"{i}\t{w}\t{t}" for i, (w, t) in enumerate(zip(words, tags)))
        for k, (words, tags) in enumerate(SENTENCES)) + "\n", "utf-8")
    reads_the_same(indexed, plain())
    # A file without an index column whose later sentence is numbers counting up: its first
    # column is still its tokens (the per-sentence rule read the POS column as the words).
    numbers = [(["1", "2", "3"], ["O", "O", "O"])]
    unindexed = tmp_path / "unindexed.conll"
    unindexed.write_text("\n\n".join("\n".join(f"{w}\tCD\t{t}" for w, t in zip(words, tags))
                                     for words, tags in SENTENCES + numbers) + "\n", "utf-8")
    reads_the_same(unindexed, plain(SENTENCES + numbers))


def test_conll_comments_give_ids_the_same_everywhere(tmp_path):
    path = tmp_path / "ids.conll"
    path.write_text("\n\n".join(f"# seq_id = {k}\n# seq_key = s{k}\n" + "\n".join(f"{w}\t{t}" for w, t in zip(*s))
                                for k, s in enumerate(SENTENCES)) + "\n", "utf-8")
    want = [(list(w), list(t), f"s{k}") for k, (w, t) in enumerate(SENTENCES)]
    reads_the_same(path, want)
    assert [r.seq_id for r in label_io.read_labels(path).records] == [0, 1, 2]


def _both_columns(sentences=SENTENCES) -> dict:
    """`tokens` and `words`, `ner_tags` and `labels`, both present and different: one order."""
    return {"id": [f"s{k}" for k in range(len(sentences))],
            "tokens": [list(w) for w, _ in sentences], "words": [[x.upper() for x in w] for w, _ in sentences],
            "ner_tags": [list(t) for _, t in sentences], "labels": [["O"] * len(t) for _, t in sentences]}


def test_jsonl_and_parquet_with_tokens_and_words_columns_read_the_same_everywhere(tmp_path):
    columns = _both_columns()
    rows = [dict(zip(columns, values)) for values in zip(*columns.values())]
    want = [(list(w), list(t), f"s{k}") for k, (w, t) in enumerate(SENTENCES)]
    jsonl = tmp_path / "both.jsonl"
    jsonl.write_bytes(b"\xef\xbb\xbf" + "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode())
    reads_the_same(jsonl, want)
    as_json = tmp_path / "both.json"  # .json holding JSON Lines (not a list): JSON Lines for both
    as_json.write_text(jsonl.read_text("utf-8-sig"), "utf-8")
    reads_the_same(as_json, want)
    parquet = tmp_path / "both.parquet"
    pq.write_table(pa.table(columns), parquet)
    reads_the_same(parquet, want)
    # naming the columns chooses them, through either path
    named = label_io.read_labels(parquet, words_column="words", tags_column="labels", id_column="id")
    assert [r.words for r in named.records] == columns["words"]
    ingested = open_source(str(parquet), words_column="words", tags_column="labels")
    assert [e.tags for e in ingested] == columns["labels"]


def test_saved_dataset_reads_the_same_everywhere(tmp_path):
    import datasets

    names = sorted(LABEL_NAMES)  # another order than the run's: integer ids mean the ClassLabel's names
    features = datasets.Features({"tokens": datasets.Sequence(datasets.Value("string")),
                                  "ner_tags": datasets.Sequence(datasets.ClassLabel(names=names))})
    folder = tmp_path / "saved"
    datasets.Dataset.from_dict({"tokens": [w for w, _ in SENTENCES],
                                "ner_tags": [[names.index(x) for x in t] for _, t in SENTENCES]},
                               features=features).save_to_disk(str(folder))
    source = open_source(f"hf:{folder}")
    read = label_io.read_labels(folder)
    assert source.label_names == read.label_names == names
    # ... and so does its Parquet file, whose metadata keeps the ClassLabel (import-labels too)
    parquet = tmp_path / "saved.parquet"
    datasets.load_from_disk(str(folder)).to_parquet(str(parquet))
    assert open_source(str(parquet)).label_names == label_io.read_labels(parquet).label_names == names
    ids = [(list(w), [names.index(x) for x in t], None) for w, t in SENTENCES]
    assert [(e.words, e.tags, e.source_id) for e in source] == ids == through_import(folder)


def test_a_label_studio_file_is_refused_by_ingest_naming_import_labels(tmp_path):
    path = tmp_path / "tasks.json"
    path.write_text('[{"data": {"text": "a"}, "annotations": []}]\n', "utf-8")
    with pytest.raises(label_io.InputError, match="Label Studio export.*import-labels"):
        open_source(str(path))
    assert label_io.read_labels(path).format == "label-studio"


def test_json_where_another_format_is_expected_says_what_it_is(tmp_path):
    """JSON Lines named .txt was read as CoNLL ("label '"O"]}' is not one of the model's labels"),
    and a JSON array of records as Label Studio tasks ("task 0 has no 'data' object")."""
    lines = tmp_path / "records.txt"
    lines.write_text(json.dumps({"words": ["Anna", "ging"], "tags": ["B-PER", "O"]}) + "\n", "utf-8")
    with pytest.raises(label_io.InputError, match=r"records.txt holds JSON, not CoNLL \(line 1 starts with '\{'\); "
                                                  r"read it as JSON: name it .jsonl"):
        list(open_source(str(lines)))
    with pytest.raises(label_io.InputError, match="holds JSON, not CoNLL"):
        label_io.read_labels(lines, "conll")
    brackets = tmp_path / "brackets.conll"  # a first token that is a bracket is still CoNLL
    brackets.write_text("[\tO\nAnna\tB-PER\n]\tO\n\n{\tO\n", "utf-8")
    assert [r.words for r in label_io.read_labels(brackets).records] == [["[", "Anna", "]"], ["{"]]
    array = tmp_path / "records.json"
    array.write_text(json.dumps([{"id": "s0", "words": ["Anna"], "ner": ["B-PER"]}]), "utf-8")
    with pytest.raises(label_io.InputError, match="is a record of words .no 'data' object., not a Label Studio task; "
                                                  "write such records as JSON Lines"):
        label_io.read_labels(array)
    with pytest.raises(label_io.InputError, match="to score records of words and tags, write them as JSON Lines"):
        open_source(str(array))


# --- Label Studio regions: types only; offset units per task -----------------------------------


def _stored(sentences) -> list:
    return [labels._Stored(k, f"key{k}", words_hash(w), list(w), list(t)) for k, (w, t) in enumerate(sentences)]


def _task(seq_id, words, regions) -> dict:
    result = [{"id": f"r{k}", "from_name": "label", "to_name": "text", "type": "labels",
               "value": {"start": s, "end": e, "text": x, "labels": [t]}} for k, (s, e, x, t) in enumerate(regions)]
    return {"data": {"text": " ".join(words), "words": words, "seq_id": seq_id}, "annotations": [{"result": result}]}


def _resolve_tasks(tmp_path, tasks, sentences):
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps(tasks, ensure_ascii=False), "utf-8")
    return labels._resolve(label_io.read_labels(path).records, _stored(sentences), "r", LABEL_NAMES)


def test_utf16_offsets_are_decided_per_task_from_all_its_spans(tmp_path):
    words = ["😀", "a", "😀", "a", "a"]  # text '😀 a 😀 a a'
    sentences = [(words, ["O"] * 5)] * 3
    # UTF-16 offsets of word 1 ('a' at 3:4) and word 3 ('a' at 8:9). In code points 8:9 is also
    # an 'a' (word 4): read span by span, the second region landed on the wrong word.
    settled = _task(0, words, [(3, 4, "a", "LOC"), (8, 9, "a", "PER")])
    resolved, problems = _resolve_tasks(tmp_path, [settled], sentences[:1])
    assert problems == [] and resolved == {0: ["O", "B-LOC", "O", "B-PER", "O"]}
    # A task whose only span fits both units takes the unit the file's other tasks settled...
    alone = _task(1, words, [(8, 9, "a", "PER")])
    resolved, problems = _resolve_tasks(tmp_path, [settled, alone], sentences[:2])
    assert problems == [] and resolved[1] == ["O", "O", "O", "B-PER", "O"]
    # ... and code points, Label Studio's own unit, when nothing in the file settles it.
    resolved, problems = _resolve_tasks(tmp_path, [alone], sentences[:2])
    assert problems == [] and resolved == {1: ["O", "O", "O", "O", "B-PER"]}
    # A span that fits only code points, beside one that fits only UTF-16: never shifted.
    mixed = _task(2, words, [(2, 3, "a", "LOC"), (3, 4, "a", "PER"), (8, 9, "a", "ORG")])
    _, problems = _resolve_tasks(tmp_path, [mixed], sentences)
    assert len(problems) == 1 and "not the span's text" in problems[0], problems


def test_regions_labelled_with_a_tag_or_o_are_refused_naming_the_fix(tmp_path):
    sentences = [(["Angela", "Merkel", "kam"], ["B-PER", "I-PER", "O"])]
    for label, needles in (("B-PER", ["tag 'B-PER'", "label it 'PER'"]), ("I-PER", ["label it 'PER'"]),
                           ("O", ["'O', which marks no entity", "delete the region"])):
        task = _task(0, sentences[0][0], [(0, 13, "Angela Merkel", label)])
        resolved, problems = _resolve_tasks(tmp_path, [task], sentences)
        assert resolved == {} and len(problems) == 1, problems
        assert all(n in problems[0] for n in needles), problems
        assert "PER, ORG, LOC" in problems[0]


def snapshot(con) -> list:
    return [sorted(map(repr, con.execute(f"SELECT * FROM {t}").fetchall()))
            for t in ("runs", "sequences", "label_versions", "sequence_labels")]


def test_a_tag_as_region_label_is_refused_whole_on_a_store(store_copy, tmp_path):
    con = store_db.connect(store_copy, read_only=False)
    export_labels(con, tmp_path / "review.json", fmt="label-studio", everything=True)
    tasks = json.loads((tmp_path / "review.json").read_text("utf-8"))
    task = next(t for t in tasks if t["annotations"][0]["result"])
    value = task["annotations"][0]["result"][0]["value"]
    value["labels"] = [f"B-{value['labels'][0]}"]
    (tmp_path / "tagged.json").write_text(json.dumps(tasks, ensure_ascii=False), "utf-8")
    try:
        before = snapshot(con)
        with pytest.raises(LabelImportError, match="not an entity type"):
            import_labels(con, tmp_path / "tagged.json", name="tagged")
        assert snapshot(con) == before
    finally:
        con.close()


# --- a BOM imports as it ingests --------------------------------------------------------------


def test_a_bom_is_read_by_import_as_by_ingest(store_copy, conll_file, tmp_path):
    body = Path(conll_file).read_bytes()
    con = store_db.connect(store_copy, read_only=False)
    try:
        export_labels(con, tmp_path / "x.jsonl", fmt="jsonl", everything=True)
        export_labels(con, tmp_path / "x.json", fmt="label-studio", everything=True)
        for name, data in (("bom.conll", body), ("bom.jsonl", (tmp_path / "x.jsonl").read_bytes()),
                           ("bom.json", (tmp_path / "x.json").read_bytes())):
            (tmp_path / name).write_bytes(b"\xef\xbb\xbf" + data)
            summary = import_labels(con, tmp_path / name, name=name.replace(".", "-"))
            assert summary.n_read == 60 and summary.n_changed == 0, name
    finally:
        con.close()


# --- a corrected copy of the whole scored file imports by position -------------------------------


@pytest.fixture(scope="module")
def repeated_store(tmp_path_factory, wordpiece_model, sentences):
    """A run whose data repeats sentences word for word, as public test sets do."""
    from lossdb import demo
    from lossdb.ingest import ingest

    root = tmp_path_factory.mktemp("repeated")
    chosen = [sentences[0], sentences[1], sentences[0], sentences[2], sentences[1], sentences[0]]
    data = demo.write_conll(chosen, root / "test.conll")
    path = root / "repeated.duckdb"
    ingest(wordpiece_model, str(data), db=str(path), run="conll", progress=False)
    return path, chosen


def test_ingest_notes_source_ids_that_repeat(tmp_path, wordpiece_model, sentences):
    """Two sequences with one id: ingest says so (annotate and import-labels cannot match them by id)."""
    data = tmp_path / "ids.jsonl"
    ids = ["a", "b", "a", "c", "b", "a"]
    data.write_text("".join(json.dumps({"id": i, "tokens": w, "ner_tags": t}) + "\n"
                            for i, (w, t) in zip(ids, sentences)), "utf-8")
    result = run_cli("ingest", "-m", wordpiece_model, "-d", str(data), "--run", "dup", "-q",
                     "--db", str(tmp_path / "s.duckdb"))
    assert result.returncode == 0, result.stderr
    assert "; note: 5 sequences share their source id ('a' x3, 'b' x2), so match those by seq_id" in result.stderr
    unique = run_cli("ingest", "-m", wordpiece_model, "-d", str(data), "--run", "one", "-q", "--limit", "3",
                     "--db", str(tmp_path / "s.duckdb"))  # a, b, a: still one repeat
    assert "; note: 2 sequences share their source id ('a' x2)" in unique.stderr
    fine = run_cli("ingest", "-m", wordpiece_model, "-d", str(data), "--run", "two", "-q", "--limit", "2",
                   "--db", str(tmp_path / "s.duckdb"))
    assert fine.returncode == 0 and "; note:" not in fine.stderr


def _conll(sentences) -> str:
    return "\n\n".join("\n".join(f"{w}\t{t}" for w, t in zip(words, tags)) for words, tags in sentences) + "\n"


def test_a_corrected_copy_of_the_whole_file_imports_by_position(repeated_store, tmp_path):
    db, chosen = repeated_store
    shutil.copy(db, tmp_path / "r.duckdb")
    db = tmp_path / "r.duckdb"
    corrected = [(list(w), list(t)) for w, t in chosen]
    corrected[2][1][0] = "B-ORG" if corrected[2][1][0] != "B-ORG" else "B-LOC"  # the second copy of sentence 0
    (tmp_path / "corrected.conll").write_text(_conll(corrected), "utf-8")
    con = store_db.connect(db, read_only=False)
    try:
        summary = import_labels(con, tmp_path / "corrected.conll", name="reannotated", run="conll")
        assert summary.n_read == 6 and summary.n_changed == 1
        changed = con.execute("SELECT seq_id, labels FROM sequence_labels").fetchall()
        assert [(seq_id, list(tags)) for seq_id, tags in changed] == [(2, corrected[2][1])]
        # Not the whole file in order: ids are asked for where the words are not unique.
        (tmp_path / "part.conll").write_text(_conll(corrected[:5]), "utf-8")
        with pytest.raises(LabelImportError, match="give its seq_id") as refused:
            import_labels(con, tmp_path / "part.conll", name="part", run="conll")
        assert "3 sequences of run 'conll' have its words" in str(refused.value)
        # why it was not matched by position comes first
        assert "not matched by position, since it holds 5 sentences and run 'conll' 6; " in str(refused.value)
        swapped = [corrected[1], corrected[0], *corrected[2:]]
        (tmp_path / "swapped.conll").write_text(_conll(swapped), "utf-8")
        with pytest.raises(LabelImportError, match="give its seq_id") as refused:
            import_labels(con, tmp_path / "swapped.conll", name="swapped", run="conll")
        assert "swapped.conll, line 1 differs from the run's sentence there (seq_id 0: " in str(refused.value)
        typo = [(list(w), list(t)) for w, t in corrected]
        typo[4][0][0] += "x"  # one word of the fifth sentence, past the first problems shown
        (tmp_path / "typo.conll").write_text(_conll(typo), "utf-8")
        with pytest.raises(LabelImportError) as refused:
            import_labels(con, tmp_path / "typo.conll", name="typo", run="conll")
        message = str(refused.value)
        assert message.index(f"(seq_id 4: word 0 is {typo[4][0][0]!r}, stored {corrected[4][0][0]!r})") < \
            message.index("have its words")
    finally:
        con.close()


# --- export: --force replaces only lossdb's exports; write failures are one line -------------------


def _one_line_error(result, *needles) -> str:
    assert result.returncode not in (0, 70), (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lossdb: error: "), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


@pytest.mark.parametrize("fmt, name, needle", [
    ("conll", "x.jsonl", "x.jsonl names a jsonl file, not conll; name it x.conll"),
    ("label-studio", "x.jsonl", "name it x.json"),
    ("parquet", "x.txt", "names a conll file, not parquet"),
    ("jsonl", "-", "export writes files, not standard output"),
])
def test_export_refuses_a_name_that_says_another_format(fmt, name, needle, built_store, tmp_path):
    """What import-labels could not read back: a CoNLL file named .jsonl; and '-', not a file."""
    result = run_cli("export", "--to", fmt, "--n", "2", "--out", name if name == "-" else str(tmp_path / name),
                     "--db", str(built_store))
    _one_line_error(result, needle, "(--out)")
    assert list(tmp_path.iterdir()) == [] and not Path("-").exists()


@pytest.mark.parametrize("name, fmt", [("review.conll", "conll"), ("review.jsonl", "jsonl"),
                                       ("review.parquet", "parquet"), ("review.json", "label-studio"),
                                       ("review", "label-studio"), ("review.xyz", "label-studio")])
def test_export_without_to_writes_the_format_its_suffix_names(name, fmt, built_store, tmp_path):
    """As import-labels reads a file by its suffix, export writes one by it: `--out x.parquet`
    is Parquet (it was refused: 'names a parquet file, not label-studio')."""
    result = run_cli("export", "--n", "2", "--out", str(tmp_path / name), "--db", str(built_store))
    assert result.returncode == 0, result.stderr
    assert f" as {fmt} to " in result.stderr, result.stderr
    out = tmp_path / name
    if fmt == "label-studio":
        assert isinstance(json.loads(out.read_text()), list)  # Label Studio's task array
        assert out.with_suffix(".label_config.xml").exists()
    else:
        assert label_io.detect_format(out) == fmt
        assert len(list(open_source(str(out)))) == 2


def test_hf_dataset_force_replaces_only_lossdbs_own_export(store_copy, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "thesis.tex").write_text("months of work")
    export = ["export", "--to", "hf-dataset", "--all", "--db", str(store_copy)]
    _one_line_error(run_cli(*export, "--out", str(work), "--force"), "lossdb did not export", "lossdb-export.json")
    assert (work / "thesis.tex").read_text() == "months of work" and sorted(os.listdir(work)) == ["thesis.tex"]
    afile = tmp_path / "notes.txt"
    afile.write_text("keep")
    _one_line_error(run_cli(*export, "--out", str(afile), "--force"), "a file, not a dataset lossdb exported")
    assert afile.read_text() == "keep"
    out = tmp_path / "ds"
    first = run_cli(*export, "--out", str(out))
    assert first.returncode == 0, first.stderr
    assert (out / "lossdb-export.json").is_file()
    _one_line_error(run_cli(*export, "--out", str(out)), "already exists", "--force")
    again = run_cli(*export, "--out", str(out), "--force")
    assert again.returncode == 0, again.stderr
    assert [e.words for e in open_source(f"hf:{out}")] == [r.words for r in label_io.read_labels(out).records]
    assert len(label_io.read_labels(out).records) == 60
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left


def test_export_to_an_existing_folder_with_force_is_one_line(store_copy, tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "keep.txt").write_text("x")
    for fmt in ("jsonl", "label-studio", "conll", "parquet"):
        result = run_cli("export", "--to", fmt, "--all", "--out", str(folder), "--force", "--db", str(store_copy))
        _one_line_error(result, str(folder), "is a folder")
    assert sorted(os.listdir(folder)) == ["keep.txt"]


@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A 4 KiB tmpfs (root only): a disk that fills up; skipped where mounting is refused."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()[:100]}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_disk_full_during_export_is_one_line_and_leaves_nothing(store_copy, tiny_tmpfs):
    for fmt, name in (("jsonl", "x.jsonl"), ("label-studio", "x.json"), ("parquet", "x.parquet"),
                      ("hf-dataset", "ds")):
        result = run_cli("export", "--to", fmt, "--all", "--out", str(tiny_tmpfs / name), "--db", str(store_copy))
        _one_line_error(result, "no space left on the disk at", str(tiny_tmpfs))
        assert os.listdir(tiny_tmpfs) == [], fmt


def test_a_failing_write_is_one_line_and_leaves_nothing(store_copy, tmp_path):
    """The same without mounting anything: a file-size limit makes the write fail (EFBIG)."""
    out = tmp_path / "out"
    out.mkdir()

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    env = {k: v for k, v in os.environ.items() if k != "LOSSDB_DB"}
    result = subprocess.run([sys.executable, "-m", "lossdb.cli.app", "export", "--to", "jsonl", "--all", "--out",
                             str(out / "x.jsonl"), "--db", str(store_copy)], capture_output=True, text=True,
                            env=env, preexec_fn=limit, timeout=600)
    _one_line_error(result, "cannot write", str(out / "x.jsonl"), "nothing written")
    assert os.listdir(out) == []


def test_export_never_writes_over_its_own_store(store_copy):
    """--force replaced the store with the export ("is not a DuckDB database" afterwards)."""
    before = store_copy.read_bytes()
    for fmt in ("jsonl", "parquet"):
        result = run_cli("export", "--to", fmt, "--all", "--out", str(store_copy), "--force", "--db", str(store_copy))
        _one_line_error(result, "is this store's own file", "write the export to another path (--out)")
    assert store_copy.read_bytes() == before


def test_a_list_as_ids_and_one_column_as_words_and_tags_are_refused(tmp_path):
    """A list column as --id-column stored its Python text as each key; one column named for
    both words and tags scored the tag names as words."""
    path = tmp_path / "cols.parquet"
    pq.write_table(pa.table({"w": [w for w, _ in SENTENCES], "t": [t for _, t in SENTENCES]}), path)
    with pytest.raises(label_io.InputError, match=r"cols.parquet, row 0: the id column 'w' holds lists, not ids; "
                                                  r"name a column of strings or numbers"):
        list(open_source(str(path), words_column="w", tags_column="t", id_column="w"))
    with pytest.raises(label_io.InputError, match=r"column 't' is named for both the words and the tags"):
        open_source(str(path), words_column="t", tags_column="t")
    assert [e.words for e in open_source(str(path), words_column="w", tags_column="t")] == [w for w, _ in SENTENCES]
