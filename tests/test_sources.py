"""Every --data source gives the same sequences, labels matched to the model by name."""
from __future__ import annotations

import json

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lossdb.demo import LABELS
from lossdb.ingest import ingest, open_source

from .conftest import run_cli


def stored_sequences(db, run):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT words, labels, source_id FROM sequences WHERE run_id = ? ORDER BY seq_id",
                           [run]).fetchall()
    finally:
        con.close()


def test_conll_with_and_without_index_column(tmp_path, sentences):
    plain = tmp_path / "plain.conll"
    indexed = tmp_path / "indexed.conllu"
    plain.write_text("-DOCSTART- -X- O O\n\n" + "\n\n".join(
        "\n".join(f"{w} NN I-NP {t}" for w, t in zip(words, tags)) for words, tags in sentences[:5]) + "\n")
    indexed.write_text("\n\n".join(
        "\n".join(f"{i}\t{w}\t{t}" for i, (w, t) in enumerate(zip(words, tags))) for words, tags in sentences[:5]))
    for path in (plain, indexed):
        examples = list(open_source(str(path)))
        assert [(e.words, e.tags) for e in examples] == [(list(w), list(t)) for w, t in sentences[:5]]


def test_conll_keeps_numeric_first_tokens(tmp_path):
    path = tmp_path / "numbers.conll"
    path.write_text("1990\tO\nwar\tO\n\n7\tO\n")
    assert [e.words for e in open_source(str(path))] == [["1990", "war"], ["7"]]


@pytest.fixture
def sample(sentences):
    return sentences[:12]


def test_every_source_format_gives_the_same_run(tmp_path, sample, wordpiece_model):
    conll = tmp_path / "d.conll"
    conll.write_text("\n\n".join("\n".join(f"{w}\t{t}" for w, t in zip(*s)) for s in sample) + "\n")
    jsonl_names = tmp_path / "names.jsonl"
    jsonl_names.write_text("".join(json.dumps({"id": f"s{i}", "tokens": w, "ner_tags": t}) + "\n"
                                   for i, (w, t) in enumerate(sample)))
    jsonl_ids = tmp_path / "ids.jsonl"  # integer tags: the model's own ids
    jsonl_ids.write_text("".join(json.dumps({"words": w, "tags": [LABELS.index(x) for x in t]}) + "\n"
                                 for w, t in sample))
    parquet = tmp_path / "d.parquet"
    pq.write_table(pa.table({"sentence": [w for w, _ in sample], "bio": [t for _, t in sample]}), parquet)

    import datasets

    # A ClassLabel in another order than the model's id2label: matched by name, not position.
    names = sorted(LABELS)
    features = datasets.Features({"tokens": datasets.Sequence(datasets.Value("string")),
                                  "ner_tags": datasets.Sequence(datasets.ClassLabel(names=names))})
    saved = tmp_path / "hf_saved"
    datasets.DatasetDict({"validation": datasets.Dataset.from_dict(
        {"tokens": [w for w, _ in sample], "ner_tags": [[names.index(x) for x in t] for _, t in sample]},
        features=features)}).save_to_disk(str(saved))
    # the same dataset as `datasets` writes it to Parquet (the Hub's files): its ClassLabel names
    # are in the file's metadata, and the integer tags mean them (they were read as the model's ids)
    hf_parquet = tmp_path / "hf.parquet"
    datasets.load_from_disk(str(saved))["validation"].to_parquet(str(hf_parquet))
    folder = tmp_path / "hf_folder"
    folder.mkdir()
    (folder / "validation.jsonl").write_text(jsonl_names.read_text())

    db = tmp_path / "all.duckdb"
    runs = {
        "conll": dict(data=str(conll)),
        "jsonl": dict(data=str(jsonl_names)),
        "jsonl_ids": dict(data=str(jsonl_ids)),
        "parquet": dict(data=str(parquet), words_column="sentence", tags_column="bio"),
        "hf_saved": dict(data=f"hf:{saved}", split="validation"),
        "hf_parquet": dict(data=str(hf_parquet)),
        "hf_folder": dict(data=f"hf:{folder}", split="validation"),
    }
    for run, kwargs in runs.items():
        ingest(wordpiece_model, db=str(db), run=run, progress=False, **kwargs)
    expected = [(list(w), list(t)) for w, t in sample]
    for run in runs:
        got = stored_sequences(db, run)
        assert [(r[0], r[1]) for r in got] == expected, run
    assert [r[2] for r in stored_sequences(db, "jsonl")] == [f"s{i}" for i in range(12)]
    con = duckdb.connect(str(db), read_only=True)
    keys = con.execute("SELECT run_id, list(seq_key ORDER BY seq_id) FROM sequences GROUP BY run_id").fetchall()
    totals = con.execute("SELECT run_id, sum(total_loss) FROM sequences GROUP BY run_id").fetchall()
    con.close()
    keys = dict(keys)
    assert keys["jsonl"][0] == "s0" and keys["conll"] == keys["parquet"] == keys["hf_saved"]
    assert len({round(t, 4) for _, t in totals}) == 1  # same words, same labels, same model: same losses


def test_jsonl_from_stdin(tmp_path, sample, wordpiece_model):
    db = tmp_path / "stdin.duckdb"
    lines = "".join(json.dumps({"tokens": w, "ner_tags": t}) + "\n" for w, t in sample)
    result = run_cli("ingest", "--model", wordpiece_model, "--data", "-", "--db", str(db), "--run", "in", input=lines)
    assert result.returncode == 0, result.stderr
    assert "12 sequences" in result.stderr
    assert [(r[0], r[1]) for r in stored_sequences(db, "in")] == [(list(w), list(t)) for w, t in sample]


def test_a_folder_of_no_dataset_is_said_to_be_none(tmp_path):
    """datasets made a 'text' dataset of a stray file, and the error asked for --words-column."""
    from lossdb.errors import InputError

    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "readme.txt").write_text("hi\n")
    with pytest.raises(InputError, match=r"notes is neither a folder written by save_to_disk nor a folder of "
                                         r"data files \(\.arrow, \.csv, .*\.jsonl, .*\.parquet"):
        open_source(f"hf:{folder}")
    # a compressed data file is a data file (validation.jsonl.gz)
    import gzip

    (folder / "validation.jsonl.gz").write_bytes(gzip.compress(b'{"tokens": ["Bonn"], "ner_tags": ["B-LOC"]}\n'))
    assert [e.words for e in open_source(f"hf:{folder}", split="validation")] == [["Bonn"]]


def test_quiet_ingest_of_a_folder_of_data_files_prints_only_its_summary(tmp_path, wordpiece_model, sentences):
    """-q silenced lossdb's bar, and datasets still drew 'Generating validation split: ...'."""
    from .conftest import run_cli

    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "validation.jsonl").write_text("".join(json.dumps({"tokens": w, "ner_tags": t}) + "\n"
                                                     for w, t in sentences))
    for quiet, lines in ((False, None), (True, 1)):
        result = run_cli("ingest", "-m", wordpiece_model, "-d", f"hf:{folder}", "--run", f"q{quiet}", *(["-q"] if quiet else []),
                         "--db", str(tmp_path / "q.duckdb"), env={"HF_DATASETS_CACHE": str(tmp_path / f"cache{quiet}")})
        assert result.returncode == 0, result.stderr
        if quiet:
            assert len(result.stderr.splitlines()) == lines and result.stderr.startswith("lossdb: ingested"), result.stderr
        else:
            assert "Generating validation split" in result.stderr  # so the quiet run's silence is -q's doing
