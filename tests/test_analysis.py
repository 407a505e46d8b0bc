"""Loss by token and label, confusion matrix, label issues, search and summaries: each query
against values worked out here from the raw token rows (pandas / numpy), through the Python
API and the CLI."""
from __future__ import annotations

import json
import shlex
import subprocess
import sys

import duckdb
import numpy as np
import pandas as pd
import pytest

import lossdb
from lossdb.errors import StoreError, UsageError
from lossdb.queries import db as store_db

from .conftest import run_cli

TEMPERATURE = 0.05  # cleanlab's soft-min temperature, as at ingest


def token_frame(db, run: str = "wp") -> pd.DataFrame:
    """The labelled token rows of a run, straight from the tokens table."""
    con = duckdb.connect(str(db), read_only=True)
    frame = con.execute("SELECT seq_id, position, word_index, token, label, pred, loss, probs FROM tokens "
                        "WHERE run_id = ? AND label IS NOT NULL ORDER BY seq_id, position", [run]).df()
    names = con.execute("SELECT label_names FROM runs WHERE run_id = ?", [run]).fetchall()[0][0]
    con.close()
    frame.attrs["names"] = list(names)
    return frame


# --- loss by token, by label ----------------------------------------------------------------------


def test_loss_by_token_is_the_books_table(built_store):
    frame = token_frame(built_store)
    want = (frame.groupby("token")["loss"].agg(["count", "mean", "sum"]).reset_index()
            .sort_values(["sum", "token"], ascending=[False, True]).reset_index(drop=True))
    store = lossdb.connect(built_store)
    got = store.loss_by_token()
    assert list(got.columns) == ["token", "count", "mean", "sum"]
    assert got["token"].tolist() == want["token"].tolist()
    assert got["count"].tolist() == want["count"].tolist()
    np.testing.assert_allclose(got["sum"], want["sum"], rtol=1e-6)
    np.testing.assert_allclose(got["mean"], want["mean"], rtol=1e-6)
    assert len(store.loss_by_token(5)) == 5

    result = run_cli("loss-by", "token", "--n", "4", "--format", "json", "--db", str(built_store))
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["token"] for r in rows] == want["token"].tolist()[:4]
    assert [r["sum"] for r in rows] == pytest.approx(want["sum"].tolist()[:4], rel=1e-6)


def test_loss_by_label_sorted_by_mean(built_store):
    frame = token_frame(built_store)
    frame["right"] = frame["pred"] == frame["label"]
    want = frame.groupby("label").agg(count=("loss", "count"), mean=("loss", "mean"), sum=("loss", "sum"),
                                      accuracy=("right", "mean")).reset_index()
    want = want.sort_values(["mean", "label"], ascending=[False, True]).reset_index(drop=True)
    got = lossdb.connect(built_store).loss_by_label()
    assert got["label"].tolist() == want["label"].tolist()
    assert got["count"].tolist() == want["count"].tolist()
    np.testing.assert_allclose(got[["mean", "sum", "accuracy"]], want[["mean", "sum", "accuracy"]], rtol=1e-6)

    for out in ("table", "csv", "markdown"):
        result = run_cli("loss-by", "label", "--format", out, "--db", str(built_store))
        assert result.returncode == 0, result.stderr
        assert all(label in result.stdout for label in want["label"])
    bad = run_cli("loss-by", "word", "--db", str(built_store))
    assert bad.returncode == 2 and "token or label" in bad.stderr


# --- confusion matrix -------------------------------------------------------------------------------------


def test_confusion_matrix_raw_and_normalised(built_store, tmp_path):
    frame = token_frame(built_store)
    names = frame.attrs["names"]
    counts = pd.crosstab(frame["label"], frame["pred"]).reindex(index=names, columns=names, fill_value=0)
    store = lossdb.connect(built_store)
    raw = store.confusion()
    assert list(raw.index) == names and list(raw.columns) == names
    assert (raw.values == counts.values).all()
    totals = counts.sum(axis=1).replace(0, np.nan)
    norm = store.confusion(normalize=True)
    np.testing.assert_allclose(norm.values, counts.div(totals, axis=0).fillna(0.0).values)
    np.testing.assert_allclose(norm.sum(axis=1)[counts.sum(axis=1) > 0], 1.0)

    plot = tmp_path / "cm.png"
    result = run_cli("confusion", "--normalize", "--plot", str(plot), "--format", "json", "--db", str(built_store))
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["label"] for r in rows] == names
    assert [rows[i][p] for i in range(len(names)) for p in names] == pytest.approx(norm.values.ravel().tolist())
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = run_cli("confusion", "--plot", str(tmp_path / "cm.gif"), "--db", str(built_store))
    assert bad.returncode == 2 and ".png" in bad.stderr


# --- label issues -------------------------------------------------------------------------------------------


def expected_issues(frame: pd.DataFrame):
    """cleanlab's token-classification scores, worked out here with numpy: per sentence the
    soft-min and min of the tokens' self-confidence; per token confident learning's flag."""
    names = frame.attrs["names"]
    probs = np.stack(frame["probs"].to_numpy()).astype(np.float64)
    given = frame["label"].map({n: i for i, n in enumerate(names)}).to_numpy()
    self_conf = probs[np.arange(len(given)), given]
    thresholds = np.array([self_conf[given == k].mean() if (given == k).any() else 2.0 for k in range(len(names))])
    confident = probs >= thresholds - 1e-6
    confident[np.arange(len(given)), given] = False
    flagged = (probs.argmax(axis=1) != given) & confident.any(axis=1)
    frame = frame.assign(p=self_conf, flagged=flagged)
    softmin, worst = {}, {}
    for seq_id, group in frame.groupby("seq_id"):
        s = group["p"].to_numpy()
        weights = np.exp((1 - s) / TEMPERATURE)
        softmin[seq_id] = float(np.dot(s, weights / weights.sum()))
        worst[seq_id] = float(s.min())
    return frame, softmin, worst


def ranking(scores: dict) -> list:
    return [k for k, _ in sorted(scores.items(), key=lambda kv: (kv[1], kv[0]))]


def test_label_issues_rank_by_cleanlab_scores(built_store):
    frame, softmin, worst = expected_issues(token_frame(built_store))
    store = lossdb.connect(built_store)
    got = store.label_issues(8, method="softmin")
    assert got["seq_id"].tolist() == ranking(softmin)[:8]
    assert got["score"].tolist() == pytest.approx([softmin[s] for s in got["seq_id"]], abs=1e-7)
    assert got["rank"].tolist() == list(range(1, 9))
    by_min = store.label_issues(8, method="min")
    assert by_min["seq_id"].tolist() == ranking(worst)[:8]
    # `top --by label_quality` ranks by the default method (tests/test_rankings.py)
    by_default, top = store.label_issues(8), store.top(8, by="label_quality")
    assert top["seq_id"].tolist() == by_default["seq_id"].tolist()
    assert by_default["score"].tolist() == pytest.approx(top["label_quality"].tolist())  # the stored default
    # each sequence's suspects: exactly its flagged tokens, least confident first
    for seq_id, suspects in zip(got["seq_id"], got["suspects"]):
        want = frame[(frame["seq_id"] == seq_id) & frame["flagged"]].sort_values(["p", "word_index"])
        assert [s["word_index"] for s in suspects] == want["word_index"].tolist()
        assert [s["p_label"] for s in suspects] == pytest.approx(want["p"].tolist(), abs=1e-6)
        assert all(s["label"] != s["pred"] and s["p_pred"] >= s["p_label"] for s in suspects)


def test_token_issues_flag_cleanlabs_confident_learning(built_store):
    frame, _, _ = expected_issues(token_frame(built_store))
    got = lossdb.connect(built_store).token_issues()
    want = frame[frame["flagged"]]
    assert sorted(zip(got["seq_id"], got["position"])) == sorted(zip(want["seq_id"], want["position"]))
    one = lossdb.connect(built_store).token_issues(seq_id=3, only_issues=False)
    assert sorted(one["position"]) == sorted(frame.loc[frame["seq_id"] == 3, "position"])


def test_label_issues_equal_cleanlab(built_store):
    cleanlab = pytest.importorskip("cleanlab.token_classification.filter")
    from cleanlab.token_classification.rank import get_label_quality_scores

    frame = token_frame(built_store)
    names = frame.attrs["names"]
    seqs = sorted(frame["seq_id"].unique())
    labels = [frame.loc[frame["seq_id"] == s, "label"].map(names.index).tolist() for s in seqs]
    probs = [np.stack(frame.loc[frame["seq_id"] == s, "probs"].to_numpy()).astype(np.float64) for s in seqs]
    issues = cleanlab.find_label_issues(labels, probs, filter_by="confident_learning")
    positions = [frame.loc[frame["seq_id"] == s, "position"].tolist() for s in seqs]
    got = lossdb.connect(built_store).token_issues()
    assert sorted(zip(got["seq_id"], got["position"])) == sorted((seqs[i], positions[i][j]) for i, j in issues)
    scores, _ = get_label_quality_scores(labels, probs, sentence_score_method="softmin")
    mine = lossdb.connect(built_store).label_issues(len(seqs), method="softmin")
    assert dict(zip(mine["seq_id"], mine["score"])) == pytest.approx(dict(zip(seqs, scores)), abs=1e-7)


def test_issues_cli(built_store):
    result = run_cli("issues", "--n", "3", "--format", "json", "--db", str(built_store))
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["rank"] for r in rows] == [1, 2, 3]
    assert set(rows[0]["suspects"][0]) == {"word_index", "word", "token", "label", "pred", "p_label", "p_pred"}
    table = run_cli("issues", "--n", "2", "--db", str(built_store))
    assert table.returncode == 0 and "model says" in table.stdout, table.stderr
    bad = run_cli("issues", "--method", "mean", "--db", str(built_store))
    assert bad.returncode == 2 and "softmin" in bad.stderr


# --- search --------------------------------------------------------------------------------------------------


def test_search_for_a_token(built_store):
    con = duckdb.connect(str(built_store), read_only=True)
    want = con.execute("SELECT seq_id, total_loss FROM sequences WHERE run_id = 'wp' AND seq_id IN "
                       "(SELECT seq_id FROM tokens WHERE run_id = 'wp' AND token = '(') "
                       "ORDER BY total_loss DESC, seq_id").fetchall()
    con.close()
    assert want, "the sample has sentences with '('"
    got = lossdb.connect(built_store).search("(", n=10)
    assert got["seq_id"].tolist() == [w[0] for w in want]
    assert got["total_loss"].tolist() == pytest.approx([w[1] for w in want])
    assert (got["n_sequences"] == len(want)).all()
    first = got.iloc[0]
    assert "(" in first["tokens"] and first["tokens"][0] == "[CLS]"
    assert len(first["tokens"]) == len(first["labels"]) == len(first["preds"]) == len(first["losses"])

    result = run_cli("search", "(", "--n", "1", "--format", "json", "--db", str(built_store))
    assert result.returncode == 0, result.stderr
    assert [r["seq_id"] for r in json.loads(result.stdout)] == [want[0][0]]
    assert f"{len(want)} sequence" in result.stderr
    table = run_cli("search", "(", "--n", "2", "--width", "0", "--db", str(built_store))
    assert table.returncode == 0 and table.stdout.count("tokens ") == 2, table.stderr


def test_search_keeps_its_matches_in_view_when_the_table_is_elided(built_store):
    """A search's hit in the middle of a long sentence fell in the '...' of an elided table."""
    store = lossdb.connect(built_store)
    con = duckdb.connect(str(built_store), read_only=True)
    candidates = con.execute("SELECT DISTINCT token FROM tokens WHERE run_id = 'wp' AND length(token) > 2 "
                             "ORDER BY token").fetchall()
    con.close()

    def hit_in_the_middle(token):  # the first sequence the search shows has the token only mid-sentence
        first = store.search(token, n=1).iloc[0]
        n = len(first["tokens"])
        return n >= 20 and all(n // 3 < p < 2 * n // 3 for p in first["positions"])

    middle = next(t for (t,) in candidates if hit_in_the_middle(t))
    first = store.search(middle, n=1).iloc[0]
    assert [first["tokens"][p] for p in first["positions"]] == [middle] * first["n_matches"]
    shown = run_cli("search", middle, "--n", "1", "--width", "70", "--db", str(built_store))
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    header, token_line = lines[1].split(), next(line for line in lines if line.startswith("tokens")).split()[1:]
    assert "..." in token_line and middle in token_line  # elided, the hit still shown
    assert header[token_line.index(middle)] == str(first["positions"][0] - 1)  # under its own column number
    top = run_cli("search", middle, "--n", "1", "--width", "0", "--db", str(built_store)).stdout
    assert "..." not in top


def test_search_by_word_label_prediction_and_errors(built_store):
    frame = token_frame(built_store)
    con = duckdb.connect(str(built_store), read_only=True)
    words = dict(con.execute("SELECT seq_id, words FROM sequences WHERE run_id = 'wp'").fetchall())
    con.close()
    frame["word"] = [words[s][w] for s, w in zip(frame["seq_id"], frame["word_index"])]
    store = lossdb.connect(built_store)
    word = frame.loc[frame["label"] == "B-LOC", "word"].iloc[0]
    want = set(frame.loc[(frame["word"] == word) & (frame["label"] == "B-LOC"), "seq_id"])
    assert set(store.search(word=word, label="B-LOC", n=100)["seq_id"]) == want
    wrong = set(frame.loc[(frame["label"] == "O") & (frame["pred"] != "O"), "seq_id"])
    assert set(store.search(label="O", errors=True, n=100)["seq_id"]) == wrong
    assert set(store.search(pred="B-PER", n=100)["seq_id"]) >= set(frame.loc[frame["pred"] == "B-PER", "seq_id"])
    assert store.search("no-such-token").empty
    # an empty result has the columns of a full one (CSV lost mean_loss and label_quality), and a
    # bad --width is refused before the search runs (it said how many matched first)
    empty = run_cli("search", "no-such-token", "-f", "csv", "--db", str(built_store)).stdout.splitlines()
    full = run_cli("search", "(", "-f", "csv", "--db", str(built_store)).stdout.splitlines()
    assert empty == full[:1] and "label_quality" in empty[0]
    # a token the run lacks, written in another case than the tokenizer's: what to try is said
    con = duckdb.connect(str(built_store), read_only=True)
    token, word = con.execute(
        "SELECT t.token, s.words[t.word_index + 1] FROM tokens t JOIN sequences s USING (run_id, seq_id) "
        "WHERE t.run_id = 'wp' AND regexp_matches(t.token, '^[a-z]{4,}$') AND s.words[t.word_index + 1] = t.token "
        "AND upper(t.token) NOT IN (SELECT token FROM tokens) ORDER BY t.token LIMIT 1").fetchone()
    n_word = con.execute("SELECT count(*) FROM sequences WHERE run_id = 'wp' AND list_contains(words, ?)",
                         [word.upper()]).fetchone()[0]
    con.close()
    shouted = run_cli("search", token.upper(), "--db", str(built_store))
    assert shouted.returncode == 0 and shouted.stdout == ""
    assert shouted.stderr.startswith("lossdb: 0 sequences match; showing 0; tokens are searched as the tokenizer "
                                     f"writes them; try lossdb search {shlex.quote(token)}"), shouted.stderr
    assert ("--word" in shouted.stderr) == (n_word > 0)
    assert store.search_hint(token) is None  # it is there: the other conditions found none of its rows
    narrow = run_cli("search", "(", "--width", "-1", "--db", str(built_store))
    assert narrow.returncode == 2 and narrow.stderr.strip() == (
        "lossdb: error: --width must be 0 or more, not -1; e.g. --width 120 (0: never elide)")
    with pytest.raises(UsageError, match="something to look for"):
        store.search()
    # a label the run does not have (the type, not the tag) is said, with the tags it may mean
    with pytest.raises(UsageError, match=r"run 'wp' has no label 'LOC'; choose one of B-LOC, I-LOC") as refused:
        store.search(label="LOC")
    assert refused.value.parameter == "label"
    result = run_cli("search", "--pred", "loc", "--db", str(built_store))
    assert result.returncode == 2 and "has no label 'loc'; choose one of B-LOC, I-LOC (--pred)" in result.stderr


# --- summaries -----------------------------------------------------------------------------------------------


def test_summary_per_run(built_store):
    frame = token_frame(built_store)
    got = lossdb.connect(built_store).summary()
    row = got.iloc[0]
    assert row["run_id"] == "wp" and row["n_labelled"] == len(frame)
    assert row["n_errors"] == int((frame["label"] != frame["pred"]).sum())
    assert row["mean_loss"] == pytest.approx(frame["loss"].mean(), rel=1e-6)
    assert row["token_accuracy"] == pytest.approx((frame["label"] == frame["pred"]).mean())
    micro = lossdb.connect(built_store).entity_scores().set_index("type").loc["micro avg"]
    assert row["entity_f1"] == pytest.approx(micro["f1"])
    # the mean of a score comparable across runs, not of label_quality's rank within the run
    scores = lossdb.connect(built_store).label_scores()
    assert row["mean_posterior_softmin"] == pytest.approx(scores["posterior_softmin"].mean(), rel=1e-9)
    assert scores["posterior_softmin"].mean() != pytest.approx(scores["rank_mean"].mean(), abs=0.01)
    result = run_cli("summary", "--by", "split", "--format", "json", "--db", str(built_store))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["n_runs"] == 1


def test_language_is_read_from_the_data_source():
    con = duckdb.connect()
    store_db.apply_schema(con)
    sources = ["hf:google/xtreme:PAN-X.de", "/data/panx-fr/validation.conllu", "hf:wikiann:it", "sample.conll"]
    got = [con.execute("SELECT data_language(?)", [s]).fetchall()[0][0] for s in sources]
    assert got == ["de", "fr", "it", None]


# --- label versions pass through -------------------------------------------------------------------------------


def test_queries_judge_against_a_label_version(store_copy):
    con = duckdb.connect(str(store_copy))
    labels = con.execute("SELECT labels FROM sequences WHERE run_id = 'wp' AND seq_id = 0").fetchall()[0][0]
    fixed = ["B-LOC" if tag == "O" else tag for tag in labels]
    con.execute("INSERT INTO label_versions VALUES ('wp', 'fixed', now(), 'test', 1)")
    con.execute("INSERT INTO sequence_labels VALUES ('wp', 'fixed', 0, ?)", [fixed])
    con.close()
    frame = token_frame(store_copy)
    names = frame.attrs["names"]
    seq0 = frame["seq_id"] == 0
    frame.loc[seq0, "label"] = [fixed[w] for w in frame.loc[seq0, "word_index"]]
    frame.loc[seq0, "loss"] = [-np.log(p[names.index(label)])
                               for p, label in zip(frame.loc[seq0, "probs"], frame.loc[seq0, "label"])]
    store = lossdb.connect(store_copy)
    got = store.loss_by_label(labels="fixed").set_index("label")
    want = frame.groupby("label")["loss"].agg(["count", "sum"])
    assert got["count"].to_dict() == want["count"].to_dict()
    np.testing.assert_allclose(got.loc[want.index, "sum"], want["sum"], rtol=1e-5)
    assert store.confusion(labels="fixed").loc["B-LOC"].sum() == (frame["label"] == "B-LOC").sum()
    issues = store.label_issues(60, labels="fixed", method="softmin")
    _, softmin, _ = expected_issues(frame)
    assert dict(zip(issues["seq_id"], issues["score"])) == pytest.approx(softmin, abs=1e-6)
    with pytest.raises(StoreError, match="no label version"):
        store.loss_by_token(labels="nope")
    result = run_cli("loss-by", "label", "--labels", "nope", "--db", str(store_copy))
    assert result.returncode == 4 and "no label version" in result.stderr


# --- the commands themselves -------------------------------------------------------------------------------------

COMMANDS = ["loss-by", "confusion", "entities", "issues", "search", "summary", "annotate", "metadata", "compare"]


def test_analysis_commands_have_help():
    for name in COMMANDS:
        result = run_cli(name, "--help")
        assert result.returncode == 0 and "--db" in result.stdout, (name, result.stderr)


def test_read_only_analysis_commands_do_not_import_the_ml_stack(built_store):
    code = ("import sys; from lossdb.cli.app import main; sys.argv = ['lossdb'] + sys.argv[1:]\n"
            "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
            "heavy = [m for m in ('torch', 'transformers', 'datasets', 'pandas', 'matplotlib') if m in sys.modules]\n"
            "print('HEAVY:' + ','.join(heavy))")
    for args in (["loss-by", "token"], ["confusion"], ["entities"], ["issues", "--n", "2"], ["search", "("],
                 ["summary"]):
        result = subprocess.run([sys.executable, "-c", code, *args, "--db", str(built_store)],
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, (args, result.stderr)
        assert result.stdout.strip().splitlines()[-1] == "HEAVY:", (args, result.stdout.splitlines()[-1])


def test_errors_name_the_fix(built_store, tmp_path):
    missing = run_cli("confusion", "--db", str(tmp_path / "none.duckdb"))
    assert missing.returncode == 4 and "no lossdb store" in missing.stderr
    unknown = run_cli("loss-by", "label", "--run", "nope", "--db", str(built_store))
    assert unknown.returncode == 4 and "no complete run named 'nope'" in unknown.stderr
    assert not (tmp_path / "none.duckdb").exists()
