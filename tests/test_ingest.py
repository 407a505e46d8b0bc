"""Ingest on tiny real models: the token rows, the alignment, the store's views agree."""
from __future__ import annotations

import json
import math

import duckdb
import numpy as np
import pytest
from transformers import AutoTokenizer

from lossdb.ingest import ingest

from .conftest import fetch


def token_rows(path, run):
    return fetch(path, "SELECT seq_id, position, token, token_id, word_index, label, pred, loss, probs "
                       "FROM tokens WHERE run_id = ? ORDER BY seq_id, position", [run])


@pytest.mark.parametrize("kind", ["wordpiece", "sentencepiece"])
def test_one_row_per_token_the_tokenizer_produces(kind, model_dirs, sentences, conll_file, tmp_path):
    db = tmp_path / "s.duckdb"
    summary = ingest(str(model_dirs[kind]), str(conll_file), db=str(db), run=kind, progress=False)
    assert summary.n_sequences == len(sentences)

    tokenizer = AutoTokenizer.from_pretrained(model_dirs[kind])
    rows = token_rows(db, kind)
    by_seq: dict[int, list] = {}
    for row in rows:
        by_seq.setdefault(row[0], []).append(row)
    assert sorted(by_seq) == list(range(len(sentences)))
    marker = "##" if kind == "wordpiece" else "▁"
    assert any(marker in r[2] for r in rows)
    for seq_id, (words, tags) in enumerate(sentences):
        enc = tokenizer(words, is_split_into_words=True)
        seq_rows = by_seq[seq_id]
        assert [r[3] for r in seq_rows] == enc["input_ids"]  # special tokens included, in order
        assert [r[2] for r in seq_rows] == enc.tokens()
        assert [r[1] for r in seq_rows] == list(range(len(seq_rows)))
        # the book's alignment: first subword of each word carries its label, the rest are ignored
        labelled = [r for r in seq_rows if r[5] is not None]
        assert [r[4] for r in labelled] == list(range(len(words)))
        assert [r[5] for r in labelled] == tags
        previous = None
        for r in seq_rows:
            first_subword = r[4] is not None and r[4] != previous
            assert (r[5] is not None) == first_subword
            previous = r[4]
        for r in seq_rows:
            probs = np.asarray(r[8])
            assert len(probs) == 7 and abs(probs.sum() - 1) < 1e-4
            assert r[6] == ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"][int(probs.argmax())]
            if r[5] is None:
                assert r[7] == 0.0
            else:
                p = probs[["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"].index(r[5])]
                assert r[7] == pytest.approx(-math.log(p), rel=1e-4, abs=1e-5)


def test_views_agree_with_token_rows(built_store):
    con = duckdb.connect(str(built_store), read_only=True)
    agg = dict(con.execute(
        "SELECT seq_id, sum(loss::DOUBLE) FROM tokens WHERE run_id = 'wp' GROUP BY seq_id").fetchall())
    view = con.execute(
        "SELECT seq_id, total_loss, mean_loss, n_tokens, n_labelled, n_errors, max_loss "
        "FROM sequence_losses WHERE run_id = 'wp'").fetchall()
    assert len(view) == len(agg)
    for seq_id, total, mean, n_tokens, n_labelled, n_errors, max_loss in view:
        rows = con.execute("SELECT label, pred, loss FROM tokens WHERE run_id='wp' AND seq_id=?", [seq_id]).fetchall()
        labelled = [r for r in rows if r[0] is not None]
        assert total == pytest.approx(agg[seq_id], abs=1e-6)
        assert n_tokens == len(rows) and n_labelled == len(labelled)
        assert n_errors == sum(r[0] != r[1] for r in labelled)
        assert mean == pytest.approx(sum(r[2] for r in labelled) / len(labelled), rel=1e-6)
        assert max_loss == pytest.approx(max(r[2] for r in rows))
    top = con.execute("SELECT rank, seq_id, total_loss FROM top_sequences(3)").fetchall()
    expected = sorted(view, key=lambda r: (-r[1], r[0]))[:3]
    assert [(r[1], r[2]) for r in top] == [(e[0], e[1]) for e in expected]
    assert [r[0] for r in top] == [1, 2, 3]
    con.close()


def test_label_quality_is_cleanlab_softmin(built_store):
    con = duckdb.connect(str(built_store), read_only=True)
    seq_id, quality = con.execute(
        "SELECT seq_id, softmin FROM sequences WHERE run_id='wp' ORDER BY seq_id LIMIT 1").fetchone()
    losses = [r[0] for r in con.execute(
        "SELECT loss FROM tokens WHERE run_id='wp' AND seq_id=? AND label IS NOT NULL", [seq_id]).fetchall()]
    con.close()
    # cleanlab.token_classification.rank._softmin_sentence_score, temperature 0.05
    scores = np.exp(-np.asarray(losses, dtype=np.float64))
    weights = np.exp((1 - scores) / 0.05)
    assert quality == pytest.approx(float(np.dot(scores, weights / weights.sum())), rel=1e-6)


def test_run_metadata(built_store, wordpiece_model, conll_file):
    con = duckdb.connect(str(built_store), read_only=True)
    row = con.execute("SELECT status, model, model_revision, data_source, label_names, n_sequences, n_tokens, "
                      "params, lossdb_version FROM runs WHERE run_id='wp'").fetchone()
    n_tokens = con.execute("SELECT count(*) FROM tokens WHERE run_id='wp'").fetchone()[0]
    con.close()
    status, model, revision, source, labels, n_seq, n_tok, params, version = row
    assert (status, model, source) == ("complete", wordpiece_model, str(conll_file))
    assert revision.startswith("sha256:")
    assert labels[0] == "O" and n_tok == n_tokens and n_seq == 60
    assert json.loads(params)["batch_size"] == 64 and version


def test_stable_keys_join_across_models(model_dirs, conll_file, tmp_path):
    db = tmp_path / "two.duckdb"
    for kind in model_dirs:
        ingest(str(model_dirs[kind]), str(conll_file), db=str(db), run=kind, progress=False)
    con = duckdb.connect(str(db), read_only=True)
    joined = con.execute(
        "SELECT count(*) FROM sequences a JOIN sequences b USING (seq_key) "
        "WHERE a.run_id='wordpiece' AND b.run_id='sentencepiece' AND a.words = b.words").fetchone()[0]
    assert joined == 60
    con.close()


def test_batch_size_and_chunking_do_not_change_rows(wordpiece_model, conll_file, tmp_path):
    a, b = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    ingest(wordpiece_model, str(conll_file), db=str(a), run="r", progress=False, batch_size=64)
    ingest(wordpiece_model, str(conll_file), db=str(b), run="r", progress=False, batch_size=3, chunk_size=7)
    rows_a, rows_b = token_rows(a, "r"), token_rows(b, "r")
    assert [r[:7] for r in rows_a] == [r[:7] for r in rows_b]
    assert np.allclose([r[7] for r in rows_a], [r[7] for r in rows_b], atol=1e-4)


def test_shards_cover_the_run(wordpiece_model, conll_file, tmp_path):
    seen = []
    for i in range(3):
        db = tmp_path / f"shard{i}.duckdb"
        ingest(wordpiece_model, str(conll_file), db=str(db), run="r", shard=f"{i}/3", progress=False)
        con = duckdb.connect(str(db), read_only=True)
        ids = [r[0] for r in con.execute("SELECT seq_id FROM sequences").fetchall()]
        con.close()
        assert all(s % 3 == i for s in ids)
        seen += ids
    assert sorted(seen) == list(range(60))


def test_bfloat16_autocast_on_cpu_keeps_predictions_close(wordpiece_model, conll_file, tmp_path):
    a, b = tmp_path / "f32.duckdb", tmp_path / "bf16.duckdb"
    ingest(wordpiece_model, str(conll_file), db=str(a), run="r", progress=False)
    ingest(wordpiece_model, str(conll_file), db=str(b), run="r", progress=False, dtype="bfloat16")
    rows_a, rows_b = token_rows(a, "r"), token_rows(b, "r")
    assert len(rows_a) == len(rows_b)
    assert np.allclose([r[7] for r in rows_a], [r[7] for r in rows_b], atol=0.1)


def test_merged_shards_answer_like_one_ingest(wordpiece_model, conll_file, tmp_path):
    from .conftest import run_cli

    whole = tmp_path / "whole.duckdb"
    ingest(wordpiece_model, str(conll_file), db=str(whole), run="r", progress=False)
    shards = []
    for i in range(3):
        shards.append(str(tmp_path / f"s{i}.duckdb"))
        ingest(wordpiece_model, str(conll_file), db=shards[-1], run="r", shard=f"{i}/3", progress=False)
    merged = tmp_path / "merged.duckdb"
    result = run_cli("merge", *shards, "--db", str(merged))
    assert result.returncode == 0, result.stderr
    rows_whole, rows_merged = token_rows(whole, "r"), token_rows(merged, "r")
    assert [r[:7] for r in rows_whole] == [r[:7] for r in rows_merged]
    assert np.allclose([r[7] for r in rows_whole], [r[7] for r in rows_merged], atol=1e-4)
    query = "SELECT seq_id, round(total_loss, 3) FROM top_sequences(5)"
    answers = []
    for db in (whole, merged):
        con = duckdb.connect(str(db), read_only=True)
        answers.append((con.execute(query).fetchall(),
                        con.execute("SELECT n_sequences, n_tokens FROM runs").fetchall()))
        con.close()
    assert answers[0] == answers[1]
    # the default label-issue score is refreshed with the whole run's words and thresholds after the merge
    quality = []
    for db in (whole, merged):
        con = duckdb.connect(str(db), read_only=True)
        quality.append(dict(con.execute("SELECT seq_id, label_quality FROM sequences").fetchall()))
        con.close()
    assert quality[1] == pytest.approx(quality[0], abs=1e-4)
    # entity metrics read the merged shards' tag codes (in shard order) and answer as one ingest does
    for args in (["entities"], ["entities", "--errors", "--by", "entity", "--n", "500"]):
        outputs = [run_cli(*args, "-f", "csv", "--db", str(db)) for db in (whole, merged)]
        assert outputs[0].returncode == 0 and outputs[0].stdout == outputs[1].stdout, outputs[1].stderr
    # the merged run records the scoring time of all its shards, as one ingest does
    con = duckdb.connect(str(merged), read_only=True)
    recorded = json.loads(con.execute("SELECT params FROM runs").fetchone()[0])["scoring_seconds"]
    con.close()
    parts = []
    for shard in shards:
        con = duckdb.connect(shard, read_only=True)
        parts.append(json.loads(con.execute("SELECT params FROM runs").fetchone()[0])["scoring_seconds"])
        con.close()
    assert recorded == pytest.approx(sum(parts), abs=2e-3) and recorded > max(parts)
    # merging again needs --replace, and then says it replaced the run
    assert "merged 3 stores" in result.stderr and "replaced" not in result.stderr
    again = run_cli("merge", *shards, "--db", str(merged), "--replace")
    assert again.returncode == 0 and "run r; replaced the earlier run r" in again.stderr, again.stderr
    assert token_rows(merged, "r") == rows_merged
    # a missing shard is refused, and the target is left as it was
    result = run_cli("merge", shards[0], shards[2], "--db", str(tmp_path / "partial.duckdb"))
    assert result.returncode != 0 and "do not make a whole" in result.stderr
    assert not (tmp_path / "partial.duckdb").exists()
    # ... and so is a shard scored over fewer sentences (--limit) or with other settings: the merged
    # run lacked the sequences past the limit, and its params described shard 0 alone
    for option, said in ((["--limit", "20"], 'shards were scored with different limit: null (shard 0/3), 20 (shard 1/3)'),
                         (["--max-length", "12", "--overflow", "truncate"], "shards were scored with different max_length")):
        other = tmp_path / "other1.duckdb"
        other.unlink(missing_ok=True)
        assert run_cli("ingest", "-m", wordpiece_model, "-d", str(conll_file), "--run", "r", "--shard", "1/3", "-q",
                       *option, "--db", str(other)).returncode == 0
        refused = run_cli("merge", shards[0], str(other), shards[2], "--db", str(tmp_path / "mixed.duckdb"))
        assert refused.returncode == 3 and said in refused.stderr, refused.stderr
        assert "--" + said.split("different ")[1].split(":")[0].replace("_", "-") in refused.stderr
        assert not (tmp_path / "mixed.duckdb").exists()
    # one model's files reached by another path (a symlink, another mount) are the same model; the
    # data named another way is refused showing each shard's
    alias = tmp_path / "same-model"
    alias.symlink_to(wordpiece_model)
    copied = tmp_path / "data-copy.conll"
    copied.write_bytes(conll_file.read_bytes())
    for model, data, ok in ((alias, conll_file, True), (wordpiece_model, copied, False)):
        other = tmp_path / "other1.duckdb"
        other.unlink(missing_ok=True)
        ingest(str(model), str(data), db=str(other), run="r", shard="1/3", progress=False)
        target = tmp_path / "aliased.duckdb"
        target.unlink(missing_ok=True)
        result = run_cli("merge", shards[0], str(other), shards[2], "--db", str(target))
        if ok:
            assert result.returncode == 0, result.stderr
        else:
            assert result.returncode == 3 and f'shards differ in data_source: "{conll_file}" (shard 0/3), "{copied}" ' \
                f'(shard 1/3), "{conll_file}" (shard 2/3)' in result.stderr, result.stderr
