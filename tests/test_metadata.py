"""Annotation metadata (CSV, Parquet, JSON Lines; by id, by text, by row index), `top` filtered
and grouped by it, and comparing two runs over the same data."""
from __future__ import annotations

import json
import re
import shutil
import warnings

import duckdb
import numpy as np
import pandas as pd
import pytest

import lossdb
from lossdb.errors import InputError, StoreError, UsageError

from .conftest import run_cli


@pytest.fixture(scope="module")
def runs_store(tmp_path_factory, built_store, sentencepiece_model, wordpiece_model, sentences, conll_file):
    """built_store plus run 'sp' (the sentencepiece model over the same CoNLL file) and run 'ids'
    (the wordpiece model over the same sentences as JSON Lines with an id column). Do not modify."""
    from lossdb.ingest import ingest

    folder = tmp_path_factory.mktemp("runs")
    path = folder / "runs.duckdb"
    shutil.copy(built_store, path)
    ingest(sentencepiece_model, str(conll_file), db=str(path), run="sp", progress=False)
    jsonl = folder / "ids.jsonl"
    with jsonl.open("w", encoding="utf-8") as f:
        for i, (words, tags) in enumerate(sentences):
            f.write(json.dumps({"id": f"doc-{i}", "tokens": words, "ner_tags": tags}) + "\n")
    ingest(wordpiece_model, str(jsonl), db=str(path), run="ids", progress=False)
    return path


@pytest.fixture
def runs_copy(tmp_path, runs_store):
    target = tmp_path / "runs.duckdb"
    shutil.copy(runs_store, target)
    return target


def sequences_frame(db, run: str) -> pd.DataFrame:
    con = duckdb.connect(str(db), read_only=True)
    frame = con.execute("SELECT * FROM sequences WHERE run_id = ? ORDER BY seq_id", [run]).df()
    con.close()
    return frame


def metadata_frame(n: int) -> pd.DataFrame:
    return pd.DataFrame({"seq": range(n), "annotator": ["anna" if i % 3 else "bob" for i in range(n)],
                         "reviewed": [i % 2 == 0 for i in range(n)]})


# --- loading ------------------------------------------------------------------------------------------


def test_annotate_csv_by_row_index(runs_copy, tmp_path):
    seqs = sequences_frame(runs_copy, "wp")
    meta = metadata_frame(len(seqs))
    meta.to_csv(tmp_path / "meta.csv", index=False)
    result = run_cli("annotate", str(tmp_path / "meta.csv"), "--key", "seq", "--match", "seq_id", "--run", "wp",
                     "--db", str(runs_copy))
    assert result.returncode == 0, result.stderr
    assert "60 rows" in result.stderr and "matched by seq_id" in result.stderr
    con = duckdb.connect(str(runs_copy), read_only=True)
    got = con.execute("SELECT seq_key, seq, annotator, reviewed FROM metadata ORDER BY seq").fetchall()
    assert [g[0] for g in got] == seqs["seq_key"].tolist()
    assert [(g[1], g[2], g[3]) for g in got] == list(meta.itertuples(index=False, name=None))
    # ad-hoc SQL joins it to any run over the same data, by seq_key
    joined = con.execute("SELECT count(*) FROM sequence_losses s JOIN metadata m USING (seq_key) "
                         "WHERE s.run_id = 'sp'").fetchall()[0][0]
    assert joined == len(seqs)
    con.close()
    listing = lossdb.connect(runs_copy).metadata()
    assert listing.iloc[0][["name", "key_column", "match_by", "n_rows", "n_matched"]].tolist() == \
        ["metadata", "seq", "seq_id", 60, 60]
    assert "matched by seq_id of run 'wp' on column 'seq'" in result.stderr  # row indices are one run's


def test_annotate_with_sentences_repeated_word_for_word(tmp_path, wordpiece_model, sentences):
    """Sentences the data repeats word for word (no ids) share one seq_key: rows that give that key
    different values are refused, since a join by key would count each copy once per row (the
    README's join gave 26 rows for 22 sequences); rows that agree are stored once."""
    from lossdb import demo
    from lossdb.ingest import ingest

    data = [*sentences[:20], sentences[0], sentences[1]]  # seq_ids 20 and 21 repeat 0 and 1
    store = tmp_path / "dup.duckdb"
    ingest(wordpiece_model, str(demo.write_conll(data, tmp_path / "dup.conll")), db=str(store), run="dup",
           progress=False)
    before = (tmp_path / "dup.duckdb").read_bytes()
    pd.DataFrame({"sid": range(22), "annotator": ["anna"] * 20 + ["bob"] * 2}).to_csv(tmp_path / "m.csv", index=False)
    refused = run_cli("annotate", str(tmp_path / "m.csv"), "--key", "sid", "--match", "seq_id", "--db", str(store))
    assert refused.returncode == 3 and refused.stderr.strip() == (
        "lossdb: error: data rows 1 and 21 of m.csv (sid 0 and 20) give different values to one sequence key "
        "(sentences repeated word for word share it where the data has no ids), and metadata is joined to the runs "
        "by key; 1 other key too; give such rows the same values, or ingest the data with an id per sequence "
        "(JSON Lines or Parquet, --id-column) and match by id"), refused.stderr
    assert (tmp_path / "dup.duckdb").read_bytes() == before

    pd.DataFrame({"sid": range(22), "annotator": ["anna"] * 10 + ["bob"] * 10 + ["anna"] * 2}).to_csv(
        tmp_path / "m.csv", index=False)
    loaded = run_cli("annotate", str(tmp_path / "m.csv"), "--key", "sid", "--match", "seq_id", "--db", str(store))
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stderr.rstrip().endswith("; note: 4 rows name a sentence that the data repeats word for word "
                                           "without an id, and its values go to every copy"), loaded.stderr
    con = duckdb.connect(str(store), read_only=True)
    assert con.execute("SELECT count(*) FROM metadata").fetchone()[0] == 20
    assert con.execute("SELECT count(*) FROM sequence_losses JOIN metadata USING (seq_key)").fetchone()[0] == 22
    con.close()
    groups = json.loads(run_cli("top", "--group-by-meta", "annotator", "-f", "json", "--db", str(store)).stdout)
    assert {g["annotator"]: g["n_sequences"] for g in groups} == {"anna": 12, "bob": 10}


def test_annotate_parquet_by_id(runs_copy, tmp_path):
    seqs = sequences_frame(runs_copy, "ids")
    assert seqs["seq_key"].tolist() == [f"doc-{i}" for i in range(len(seqs))]
    meta = pd.DataFrame({"doc_id": [f"doc-{i}" for i in range(0, 60, 2)] + ["doc-999"],
                         "status": ["done"] * 30 + ["lost"]})
    meta.to_parquet(tmp_path / "meta.parquet")
    store = lossdb.connect(runs_copy, read_only=False)
    summary = store.annotate(tmp_path / "meta.parquet", key="doc_id", name="review")
    assert summary.iloc[0][["match_by", "n_rows", "n_matched"]].tolist() == ["id", 31, 30]
    rows = store.metadata("review")
    assert set(rows.columns) == {"seq_key", "doc_id", "status"}
    assert (rows["seq_key"] == rows["doc_id"]).all()


def test_annotate_jsonl_by_text(runs_copy, tmp_path, sentences):
    path = tmp_path / "docs.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for i, (words, _) in enumerate(sentences[:20]):
            f.write(json.dumps({"words": words, "source_doc": f"page-{i // 5}"}) + "\n")
    wp = sequences_frame(runs_copy, "wp")
    ids = sequences_frame(runs_copy, "ids")
    store = lossdb.connect(runs_copy, read_only=False)
    summary = store.annotate(path, key="words", name="docs")  # auto: a list column matches by text
    assert summary.iloc[0][["match_by", "n_rows", "n_matched"]].tolist() == ["text", 20, 20]
    # text matching finds every stored sequence with those words: the CoNLL runs' hash keys and
    # the 'ids' run's source ids
    keys = set(store.metadata("docs")["seq_key"])
    assert set(wp["seq_key"][:20]) <= keys and set(ids["seq_key"][:20]) <= keys


def test_annotate_csv_text_as_a_string(runs_copy, tmp_path, sentences):
    frame = pd.DataFrame({"sentence": [" ".join(words) for words, _ in sentences[:10]], "split": "dev"})
    frame.to_csv(tmp_path / "text.csv", index=False)
    store = lossdb.connect(runs_copy, read_only=False)
    summary = store.annotate(tmp_path / "text.csv", key="sentence", match="text", name="texts")
    assert summary.iloc[0]["n_matched"] == 10


def test_annotate_refuses_what_it_cannot_use(runs_copy, tmp_path):
    metadata_frame(5).to_csv(tmp_path / "meta.csv", index=False)
    store = lossdb.connect(runs_copy, read_only=False)
    with pytest.raises(InputError, match="no column 'nope'"):
        store.annotate(tmp_path / "meta.csv", key="nope")
    with pytest.raises(InputError, match="names a sequence"):
        store.annotate(tmp_path / "meta.csv", key="annotator")  # neither an id nor a sentence
    with pytest.raises(UsageError, match="'tokens' is already a table or view of this store, and not one that annotate"):
        store.annotate(tmp_path / "meta.csv", key="seq", match="seq_id", name="tokens", replace=True)
    store.sql("CREATE TABLE notes AS SELECT 1 AS x", write=True)  # the user's own table: refused alike
    with pytest.raises(UsageError, match="'notes' is already a table or view of this store"):
        store.annotate(tmp_path / "meta.csv", key="seq", match="seq_id", name="notes", replace=True)
    # a refused load leaves no staging table behind in the session
    staging = "SELECT count(*) AS n FROM duckdb_tables() WHERE table_name LIKE 'lossdb_annotation%'"
    with pytest.raises(InputError, match="names a sequence"):
        store.annotate(tmp_path / "meta.csv", key="annotator")
    assert store.sql(staging)["n"].iloc[0] == 0
    with pytest.raises(UsageError, match="plain table name"):
        store.annotate(tmp_path / "meta.csv", key="seq", match="seq_id", name='x"; DROP TABLE tokens; --')
    (tmp_path / "meta.xlsx").write_bytes(b"PK")
    with pytest.raises(InputError, match="format"):
        store.annotate(tmp_path / "meta.xlsx", key="seq")
    store.annotate(tmp_path / "meta.csv", key="seq", match="seq_id")
    with pytest.raises(StoreError, match="replace it") as refused:
        store.annotate(tmp_path / "meta.csv", key="seq", match="seq_id")
    assert refused.value.parameter == "replace"  # the CLI names its flag for it: --replace
    assert store.annotate(tmp_path / "meta.csv", key="seq", match="seq_id", replace=True).iloc[0]["n_rows"] == 5
    (tmp_path / "header.csv").write_text("seq,annotator\n")  # with replace, it emptied the table and said "loaded"
    with pytest.raises(InputError, match="has no rows, only its header"):
        store.annotate(tmp_path / "header.csv", key="seq", match="seq_id", replace=True)
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputError, match="empty.csv is empty"):
        store.annotate(tmp_path / "empty.csv", key="a")
    assert len(store.metadata("metadata")) == 5
    store.close()
    (tmp_path / "nothing.csv").write_text("a,b\n1,2\n")
    unmatched = run_cli("annotate", str(tmp_path / "nothing.csv"), "--key", "a", "--match", "text", "--name", "nothing",
                        "--db", str(runs_copy))
    assert unmatched.returncode == 3 and unmatched.stderr.strip().endswith(
        "(matched by text); name the column that names the sequences (--key), or try --match id or --match seq_id"), \
        unmatched.stderr
    with pytest.raises(StoreError, match="read-only"):
        lossdb.connect(runs_copy).annotate(tmp_path / "meta.csv", key="seq")
    bad = run_cli("annotate", str(tmp_path / "none.csv"), "--key", "seq", "--name", "other", "--db", str(runs_copy))
    assert bad.returncode == 3 and "no file" in bad.stderr


# --- top filtered and grouped by metadata ---------------------------------------------------------------


@pytest.fixture
def annotated(runs_copy, tmp_path):
    seqs = sequences_frame(runs_copy, "wp")
    meta = metadata_frame(len(seqs))
    meta.to_csv(tmp_path / "meta.csv", index=False)
    with lossdb.connect(runs_copy, read_only=False) as store:
        store.annotate(tmp_path / "meta.csv", key="seq", match="seq_id", run="wp")
    return runs_copy, seqs.merge(meta, left_on="seq_id", right_on="seq")


def test_top_where_meta(annotated):
    db, frame = annotated
    bob = frame[frame["annotator"] == "bob"].sort_values(["total_loss", "seq_id"], ascending=[False, True])
    store = lossdb.connect(db)
    got = store.top_where(3, {"annotator": "bob"}, run="wp")
    assert got["seq_id"].tolist() == bob["seq_id"].tolist()[:3]
    both = frame[(frame["annotator"] == "bob") & frame["reviewed"]].sort_values("label_quality")
    got = store.top_where(2, {"annotator": "bob", "metadata.reviewed": "true"}, run="wp", by="label_quality")
    assert got["seq_id"].tolist() == both["seq_id"].tolist()[:2]
    # the same sequences in another run over the same data: metadata joins by seq_key
    sp = store.top_where(1, {"annotator": "bob"}, run="sp")
    assert sp["seq_id"].iloc[0] in set(bob["seq_id"])

    result = run_cli("top", "--where-meta", "annotator=bob", "--n", "2", "--run", "wp", "--format", "json",
                     "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert [r["seq_id"] for r in json.loads(result.stdout)] == bob["seq_id"].tolist()[:2]
    bad = run_cli("top", "--where-meta", "colour=red", "--db", str(db))
    assert bad.returncode == 2 and "no metadata column 'colour'" in bad.stderr


def test_top_group_by_meta(annotated):
    db, frame = annotated
    want = frame.groupby("annotator").agg(n=("seq_id", "count"), mean_total=("total_loss", "mean"),
                                          n_errors=("n_errors", "sum"))
    got = lossdb.connect(db).meta_groups("annotator", run="wp").set_index("annotator")
    assert got["n_sequences"].to_dict() == want["n"].to_dict()
    assert got["n_errors"].to_dict() == want["n_errors"].to_dict()
    np.testing.assert_allclose(got.loc[want.index, "mean_total_loss"], want["mean_total"])
    assert list(got.index) == want.sort_values("mean_total", ascending=False).index.tolist()
    result = run_cli("top", "--group-by-meta", "annotator", "--run", "wp", "--format", "csv", "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith("annotator,n_sequences")


# --- comparing runs ------------------------------------------------------------------------------------------


def test_compare_sequences(runs_store, tmp_path, wordpiece_model):
    a, b = sequences_frame(runs_store, "wp"), sequences_frame(runs_store, "sp")
    pairs = a.merge(b, on="seq_key", suffixes=("_a", "_b"))
    assert len(pairs) == len(a)  # the sample has no repeated sentence
    pairs["delta"] = pairs["total_loss_b"] - pairs["total_loss_a"]
    pairs = pairs.reindex(pairs["delta"].abs().sort_values(ascending=False).index)
    got = lossdb.connect(runs_store).compare("wp", "sp", n=5)
    assert got["seq_id_a"].tolist() == pairs["seq_id_a"].tolist()[:5]
    assert got["delta_total_loss"].tolist() == pytest.approx(pairs["delta"].tolist()[:5])
    assert got["text"].iloc[0] == " ".join(pairs["words_a"].iloc[0])
    # a CoNLL run (no ids) and a JSON Lines run with ids pair up by their words; same model, same loss
    by_words = lossdb.connect(runs_store).compare("wp", "ids", n=1000)
    assert len(by_words) == len(a) and (by_words["seq_id_a"] == by_words["seq_id_b"]).all()
    assert by_words["delta_total_loss"].abs().max() < 1e-6
    # runs over other sentences share none, and are refused with the rule
    from lossdb import demo
    from lossdb.ingest import ingest

    other = demo.write_conll(demo.make_sentences(12, seed=5), tmp_path / "other.conll")
    copy = tmp_path / "runs.duckdb"
    shutil.copy(runs_store, copy)
    ingest(wordpiece_model, str(other), db=str(copy), run="other", progress=False)
    with pytest.raises(StoreError, match="share no sequences"):
        lossdb.connect(copy).compare("wp", "other")
    # a run over part of the data: --what labels says it compares whole runs
    part = demo.write_conll(demo.make_sentences(12, seed=5)[:6], tmp_path / "part.conll")
    ingest(wordpiece_model, str(part), db=str(copy), run="part", progress=False)
    assert lossdb.connect(copy).compare_overlap("other", "part") == {"shared": 6, "n_a": 12, "n_b": 6}
    noted = run_cli("compare", "other", "part", "--what", "labels", "--db", str(copy))
    assert noted.returncode == 0 and noted.stderr.strip() == (
        "lossdb: note: the runs share 6 sequences of 12 and 6; --what labels compares each whole run")
    # repeated sentences: the k-th copy pairs with the k-th, and the overlap counts those pairs
    sentences = demo.make_sentences(2, seed=7)
    for run, picks in (("rep_a", [0, 0, 0, 1]), ("rep_b", [1, 0, 1, 0])):
        data = demo.write_conll([sentences[i] for i in picks], tmp_path / f"{run}.conll")
        ingest(wordpiece_model, str(data), db=str(copy), run=run, progress=False)
    pairs = lossdb.connect(copy).compare("rep_a", "rep_b", n=100)
    assert sorted(zip(pairs["seq_id_a"], pairs["seq_id_b"])) == [(0, 1), (1, 3), (3, 0)]
    assert lossdb.connect(copy).compare_overlap("rep_a", "rep_b") == {"shared": 3, "n_a": 4, "n_b": 4}
    same = run_cli("compare", "wp", "sp", "--what", "labels", "--db", str(runs_store))
    assert same.returncode == 0 and same.stderr == ""
    result = run_cli("compare", "wp", "sp", "--n", "3", "--db", str(runs_store))
    assert result.returncode == 0 and len(result.stdout.splitlines()) == 5, result.stderr


def test_compare_labels_and_entities(runs_store):
    con = duckdb.connect(str(runs_store), read_only=True)
    frames = {run: con.execute("SELECT seq_id, label, pred, loss FROM tokens WHERE run_id = ? AND label IS NOT NULL "
                               "ORDER BY seq_id, position", [run]).df() for run in ("wp", "sp")}
    con.close()
    store = lossdb.connect(runs_store)
    labels = store.compare("wp", "sp", what="labels").set_index("label")
    for run, side in (("wp", "a"), ("sp", "b")):
        want = frames[run].groupby("label")["loss"].mean()
        np.testing.assert_allclose(labels.loc[want.index, f"mean_loss_{side}"], want, rtol=1e-6)
    np.testing.assert_allclose(labels["delta_mean_loss"], labels["mean_loss_b"] - labels["mean_loss_a"])

    seqeval = pytest.importorskip("seqeval.metrics")
    f1 = {}
    for run, frame in frames.items():
        gold = [g["label"].tolist() for _, g in frame.groupby("seq_id")]
        pred = [g["pred"].tolist() for _, g in frame.groupby("seq_id")]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            f1[run] = seqeval.classification_report(gold, pred, output_dict=True, zero_division=0)
    got = store.compare("wp", "sp", what="entities").set_index("type")
    for name in ("LOC", "micro avg"):
        assert got.loc[name, "f1_a"] == pytest.approx(f1["wp"][name]["f1-score"])
        assert got.loc[name, "f1_b"] == pytest.approx(f1["sp"][name]["f1-score"])
        assert got.loc[name, "delta_f1"] == pytest.approx(f1["sp"][name]["f1-score"] - f1["wp"][name]["f1-score"])
    result = run_cli("compare", "wp", "sp", "--what", "entities", "--format", "markdown", "--db", str(runs_store))
    assert result.returncode == 0 and "| micro avg |" in result.stdout, result.stderr
    # strict mode for the scheme given (IOB2 tags read as IOB1), as seqeval's strict mode reads them
    from seqeval.scheme import IOB1, IOB2
    schemes_differ = []
    result = run_cli("compare", "wp", "sp", "--what", "entities", "--mode", "strict", "--scheme", "IOB1",
                     "--format", "json", "--db", str(runs_store))
    assert result.returncode == 0, result.stderr
    got = {row["type"]: row for row in json.loads(result.stdout)}
    # and so does summary's
    result = run_cli("summary", "--mode", "strict", "--scheme", "IOB1", "--format", "json", "--db", str(runs_store))
    assert result.returncode == 0, result.stderr
    summary = {row["run_id"]: row for row in json.loads(result.stdout)}
    for run, side in (("wp", "a"), ("sp", "b")):
        gold = [g["label"].tolist() for _, g in frames[run].groupby("seq_id")]
        pred = [g["pred"].tolist() for _, g in frames[run].groupby("seq_id")]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = seqeval.classification_report(gold, pred, mode="strict", scheme=IOB1, output_dict=True,
                                                 zero_division=0)
        assert got["micro avg"][f"f1_{side}"] == pytest.approx(want["micro avg"]["f1-score"])
        assert want["micro avg"]["f1-score"] != pytest.approx(f1[run]["micro avg"]["f1-score"])
        assert summary[run]["entity_f1"] == pytest.approx(want["micro avg"]["f1-score"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            iob2 = seqeval.classification_report(gold, pred, mode="strict", scheme=IOB2, output_dict=True,
                                                 zero_division=0)
        schemes_differ.append(iob2["micro avg"]["f1-score"] != pytest.approx(want["micro avg"]["f1-score"]))
    assert any(schemes_differ)  # so the scheme given is the one read
    same = run_cli("compare", "wp", "wp", "--db", str(runs_store))
    assert same.returncode == 2 and "both runs" in same.stderr


def test_summary_of_chosen_runs(runs_store):
    store = lossdb.connect(runs_store)
    every = store.summary(entities=False).set_index("run_id")
    assert {"wp", "sp"} <= set(every.index)
    one = store.summary(runs=["sp"], entities=False)
    assert one["run_id"].tolist() == ["sp"] and one.iloc[0]["n_labelled"] == every.loc["sp", "n_labelled"]
    result = run_cli("summary", "--run", "wp", "--run", "sp", "--by", "model", "--no-entities", "-f", "json",
                     "--db", str(runs_store))
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert sum(r["n_runs"] for r in rows) == 2 and sorted(", ".join(r["runs"] for r in rows).split(", ")) == ["sp", "wp"]
    missing = run_cli("summary", "--run", "nope", "--db", str(runs_store))
    assert missing.returncode != 0 and missing.stdout == ""
    assert missing.stderr.startswith("lossdb: error: no complete run named 'nope'"), missing.stderr


def test_import_labels_goes_to_the_run_the_file_names(runs_copy, tmp_path):
    # 'ids' is the newest run; a file exported from 'wp' goes back to 'wp' without being told
    out = tmp_path / "wp.jsonl"
    with lossdb.connect(runs_copy) as store:
        store.export(out, format="jsonl", run="wp", everything=True)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows[0]["labels"] != rows[0]["preds"]
    rows[0]["labels"] = rows[0]["preds"]  # the model's tags: that sequence's errors go
    out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with lossdb.connect(runs_copy, read_only=False) as store:
        summary = store.import_labels(out, name="fixed")
        assert summary.run == "wp" and summary.n_changed == 1
        assert store.label_versions(run="wp")["version"].tolist() == ["gold", "fixed"]
        assert store.label_versions(run="ids")["version"].tolist() == ["gold"]
    # summary judges every figure of a run by the version where the run has it, and says which
    with lossdb.connect(runs_copy) as store:
        rows = store.summary(labels="fixed").set_index("run_id")
        tokens = store.sql("SELECT count(*) FILTER (WHERE label IS NOT NULL) AS n, "
                           "count(*) FILTER (WHERE label IS NOT NULL AND pred <> label) AS errors, "
                           "avg(loss) FILTER (WHERE label IS NOT NULL) AS mean_loss "
                           "FROM token_labels('wp', p_labels := 'fixed')").iloc[0]
        gold = store.summary().set_index("run_id")
    assert rows.loc["wp", "labels"] == "fixed" and rows.loc["sp", "labels"] == "gold"
    assert rows.loc["wp", "n_errors"] == tokens["errors"] != gold.loc["wp", "n_errors"]
    assert rows.loc["wp", "mean_loss"] == pytest.approx(tokens["mean_loss"])
    assert rows.loc["wp", "token_accuracy"] == pytest.approx(1 - tokens["errors"] / tokens["n"])
    assert rows.loc["sp", "n_errors"] == gold.loc["sp", "n_errors"]
    shown = run_cli("summary", "--labels", "fixed", "--no-entities", "--db", str(runs_copy))
    assert shown.stdout.splitlines()[0].split()[-1] == "labels"  # shown where it is not gold
    # the runs without it are named, and a row pooling runs says which versions judged it
    assert shown.stderr.strip() == ("lossdb: note: 2 runs without label version 'fixed' (ids, sp) "
                                    "judged against gold, as the labels column says"), shown.stderr
    with lossdb.connect(runs_copy) as store:
        pooled = store.summary(labels="fixed", by="language", entities=False)
        assert pooled["labels"].tolist() == ["fixed, gold"]
        assert store.summary(runs="wp", entities=False)["run_id"].tolist() == ["wp"]  # a string is one run
        with pytest.raises(UsageError, match="entities=False leaves them out"):
            store.summary(entities=False, mode="strict")
    missing = run_cli("summary", "--labels", "nosuch", "--db", str(runs_copy))
    assert missing.returncode == 4 and "has no label version 'nosuch'" in missing.stderr
    # the next command defaults to the newest run, which lacks it: the fix named is the run that has it
    newest = run_cli("issues", "--evaluate", "fixed", "--db", str(runs_copy))
    assert newest.returncode == 4 and newest.stderr.strip() == (
        "lossdb: error: run 'ids' has no label version 'fixed'; run 'wp' has it; name that run (--run)")
    # ... but where both runs are needed, naming the other is no fix: importing into it is
    paired = run_cli("compare", "wp", "sp", "--labels", "fixed", "--db", str(runs_copy))
    assert paired.returncode == 4 and paired.stderr.strip() == (
        "lossdb: error: run 'sp' has no label version 'fixed'; run 'wp' has it; import the corrections into run 'sp' "
        "too (lossdb import-labels FILE --run sp --as fixed), or compare under gold")
    # a file of wp's sentences that names no run or id: the newest run ('ids') lacks two of them,
    # so the refusal names the run that holds them all
    plain = tmp_path / "plain.jsonl"
    exported = [json.loads(line) for line in out.read_text().splitlines()][:2]
    plain.write_text("".join(json.dumps({"words": r["words"], "labels": r["labels"]}) + "\n" for r in exported))
    con = duckdb.connect(str(runs_copy))
    con.execute("UPDATE sequences SET words_hash = 'x' || seq_id WHERE run_id = 'ids' AND seq_id < 2")
    con.close()
    guessed = run_cli("import-labels", str(plain), "--as", "plain", "--db", str(runs_copy))
    assert guessed.returncode == 3, guessed.stderr
    assert re.search(r"run '(sp|wp)' holds every sentence of it: import it into that run \(the store is unchanged\) "
                     r"\(--run\)$", guessed.stderr.rstrip()), guessed.stderr
    # told another run, whose sequences it does not name: refused, naming the file's run
    refused = run_cli("import-labels", str(out), "--as", "other", "--run", "ids", "--db", str(runs_copy))
    assert refused.returncode == 3 and refused.stdout == ""
    assert refused.stderr.rstrip().endswith("its rows come from run 'wp': import it into that run (the store is "
                                            "unchanged) (--run)"), refused.stderr
    # a file whose rows name a run this store lacks (exported from another store): it went into
    # the newest run without a word; now the run is asked for
    elsewhere = tmp_path / "elsewhere.jsonl"
    elsewhere.write_text(out.read_text().replace('"run": "wp"', '"run": "gone"'))
    assert '"run": "gone"' in elsewhere.read_text()
    asked = run_cli("import-labels", str(elsewhere), "--as", "other", "--db", str(runs_copy))
    assert asked.returncode == 4 and asked.stderr.strip() == (
        "lossdb: error: the rows of elsewhere.jsonl name run 'gone', which this store does not have; name the run "
        "to import them into (--run)"), asked.stderr
    told = run_cli("import-labels", str(elsewhere), "--as", "other", "--run", "wp", "--db", str(runs_copy))
    assert told.returncode == 0, told.stderr
