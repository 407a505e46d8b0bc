"""Label-issue rankings (issue #14): each method's score on a hand-worked store, agreement with
cleanlab's own functions, --evaluate against scikit-learn, CLI and Python giving the same numbers,
and the stored aggregates (commit, backfill, recomputation under a label version) agreeing."""
from __future__ import annotations

import json
import math

import duckdb
import numpy as np
import pytest

import lossdb
from lossdb.errors import StoreError, UsageError
from lossdb.queries import db as store_db
from lossdb.queries import rankings

from .conftest import PANX, needs_shared, run_cli, version_scores
from .test_analysis import token_frame

LABELS = ["O", "B-PER", "I-PER", "B-LOC"]
# Three sequences, each word's first-subword probabilities in LABELS order, worked by hand below.
HAND = {
    0: [("Anna", "O", [0.9, 0.05, 0.0, 0.05]), ("Berg", "B-PER", [0.1, 0.3, 0.6, 0.0])],  # B/I confusion only
    1: [("Rhein", "B-LOC", [0.8, 0.1, 0.0, 0.1]), ("fließt", "O", [0.7, 0.2, 0.1, 0.0])],
    2: [("ja", "O", [0.96, 0.02, 0.02, 0.0])],
}
MIGRATION = "sql/migrations/0004_rankings.sql"


def migration_sql() -> str:
    from pathlib import Path

    return (Path(__file__).resolve().parents[1] / MIGRATION).read_text()


@pytest.fixture
def hand_store(tmp_path):
    """A real store holding HAND as one complete run 'h' (a [CLS] token before each sequence),
    its per-sequence aggregates filled by the backfills (migrations 0004 and 0007)."""
    return build_hand_store(tmp_path / "hand.duckdb", HAND)


def loss(p: float) -> float:
    return -math.log(p) if p > 0 else math.inf  # a probability that underflowed to 0


def build_hand_store(path, hand):
    con = store_db.connect(path, read_only=False, migrate=True, create=True)  # a new store
    con.execute("INSERT INTO runs (run_id, created_at, status, model, data_source, label_names, lossdb_version) "
                "VALUES ('h', now(), 'complete', 'hand', 'hand', $labels, 'test')", {"labels": LABELS})
    for seq_id, words in hand.items():
        rows = [("h", seq_id, 0, "[CLS]", 1, None, None, "O", 0.0, [1.0, 0.0, 0.0, 0.0])]
        for i, (word, label, probs) in enumerate(words):
            pred = LABELS[int(np.argmax(probs))]
            rows.append(("h", seq_id, i + 1, word, 10 + i, i, label, pred, loss(probs[LABELS.index(label)]), probs))
        con.executemany("INSERT INTO tokens VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        losses = [r[8] for r in rows]
        con.execute(
            "INSERT INTO sequences (run_id, seq_id, seq_key, words_hash, words, labels, n_tokens, n_windows, truncated, "
            "total_loss, mean_loss, n_labelled, n_errors, max_loss) VALUES ('h', $s, $k, $k, $w, $l, $n, 1, false, "
            "$total, $mean, $nl, 0, $max)",
            {"s": seq_id, "k": f"k{seq_id}", "w": [w for w, _, _ in words], "l": [lab for _, lab, _ in words],
             "n": len(rows), "total": sum(losses), "mean": sum(losses) / len(words), "nl": len(words),
             "max": max(losses)})
    con.execute(migration_sql())
    store_db.score_runs(con)  # migration 0007's step
    con.close()
    return path


def test_each_method_on_hand_worked_sequences(hand_store):
    got = lossdb.connect(hand_store).label_scores(run="h").set_index("seq_id")
    # self-confidence p(label): seq 0 [0.9, 0.3], seq 1 [0.1, 0.7], seq 2 [0.96]
    assert got["min"].tolist() == pytest.approx([0.3, 0.1, 0.96], abs=1e-6)
    for seq_id, s in ((0, [0.9, 0.3]), (1, [0.1, 0.7]), (2, [0.96])):
        w = np.exp((1 - np.array(s)) / 0.05)
        assert got.loc[seq_id, "softmin"] == pytest.approx(float(np.dot(s, w / w.sum())), abs=1e-6)
    # type level (B-X and I-X merged): seq 0 [O 0.9, PER 0.3+0.6], seq 1 [LOC 0.1, O 0.7], seq 2 [O 0.96]
    assert got["type_min"].tolist() == pytest.approx([0.9, 0.1, 0.96], abs=1e-6)
    # normalized margin on types, (p(type) - best other type + 1) / 2: seq 0 min(0.925, 0.9); seq 1
    # min((0.1 - 0.8 + 1) / 2, (0.7 - 0.3 + 1) / 2); seq 2 (0.96 - 0.04 + 1) / 2
    assert got["type_margin"].tolist() == pytest.approx([0.9, 0.15, 0.96], abs=1e-6)
    # thresholds (mean type-level self-confidence per type): O (0.9 + 0.7 + 0.96) / 3, PER 0.9, LOC 0.1
    t_o = (0.9 + 0.7 + 0.96) / 3
    assert got["threshold_min"].tolist() == pytest.approx([1.0, 0.7 / t_o, 1.0], abs=1e-6)
    # Sidak over the sequence's words: 1 - (1 - s)^n
    assert got["threshold_sidak"].tolist() == pytest.approx([1.0, 1 - (1 - 0.7 / t_o) ** 2, 1.0], abs=1e-6)
    # posterior_softmin. Types LOC, O, PER; thresholds LOC 0.1, O t_o, PER 0.9. Confidently
    # predicted (the likeliest type at or above its threshold): Anna O, Berg PER, Rhein LOC, ja O,
    # fließt none (O 0.7 < t_o, PER 0.3 < 0.9). The confident joint plus one in every cell, rows the
    # label (LOC, O, PER), columns the confident type: LOC [2, 1, 1], O [1, 3, 1], PER [1, 1, 2];
    # column sums 4, 5, 4, so r[label][type] = C / column sum: LOC [1/2, 1/5, 1/4],
    # O [1/4, 3/5, 1/4], PER [1/4, 1/5, 1/2]. P(label right) = p(label) r[label][label] /
    # sum over types of p(type) r[label][type]:
    right = {"Anna": 0.9 * 0.6 / (0.05 * 0.25 + 0.9 * 0.6 + 0.05 * 0.25),
             "Berg": 0.9 * 0.5 / (0.1 * 0.2 + 0.9 * 0.5),
             "Rhein": 0.1 * 0.5 / (0.1 * 0.5 + 0.8 * 0.2 + 0.1 * 0.25),
             "fließt": 0.7 * 0.6 / (0.7 * 0.6 + 0.3 * 0.25),
             "ja": 0.96 * 0.6 / (0.96 * 0.6 + 0.04 * 0.25)}
    for seq_id, words in ((0, ["Anna", "Berg"]), (1, ["Rhein", "fließt"]), (2, ["ja"])):
        s = np.array([right[w] for w in words])
        w = np.exp((1 - s) / 0.05)  # cleanlab's soft-min, as for softmin above
        assert got.loc[seq_id, "posterior_softmin"] == pytest.approx(float(np.dot(s, w / w.sum())), abs=1e-6)
    # rank_mean: both orders are seq 1, 0, 2 (softmin ~0.1, ~0.3, 0.96; posterior ~0.21, ~0.96,
    # ~0.98), so the percent ranks 0, 1/2, 1 under each
    assert got["rank_mean"].tolist() == pytest.approx([0.5, 0.0, 1.0], abs=1e-9)
    # the default is what the store keeps as label_quality, and what `top --by label_quality` ranks by
    con = duckdb.connect(str(hand_store), read_only=True)
    assert rankings.DEFAULT_METHOD == "rank_mean"
    stored = dict(con.execute("SELECT seq_id, label_quality FROM sequences").fetchall())
    assert stored == pytest.approx(got["rank_mean"].to_dict(), abs=1e-9)
    posterior = dict(con.execute("SELECT seq_id, posterior_softmin FROM sequences").fetchall())
    assert posterior == pytest.approx(got["posterior_softmin"].to_dict(), abs=1e-9)


def test_a_label_the_model_rules_out_everywhere_is_the_most_suspect(tmp_path):
    # the run's only LOC word has p(LOC) = 0, so LOC's threshold (their mean) is 0 too: 0 / 0
    # would be NaN, which sorts as the least suspect; the word must rank first instead
    hand = {0: [("Anna", "B-PER", [0.2, 0.8, 0.0, 0.0])],
            1: [("heute", "B-LOC", [1.0, 0.0, 0.0, 0.0])],
            2: [("ja", "O", [0.9, 0.1, 0.0, 0.0])]}
    store = lossdb.connect(build_hand_store(tmp_path / "zero.duckdb", hand))
    got = store.label_scores(run="h").set_index("seq_id")
    assert got.loc[1, "threshold_min"] == 0.0
    for method in ("threshold_min", "threshold_sidak", "posterior_softmin"):
        assert store.label_issues(1, run="h", method=method)["seq_id"].tolist() == [1], method


def test_suspects_named_at_the_entity_level(hand_store):
    store = lossdb.connect(hand_store)
    issues = store.label_issues(3, run="h", method="type_min")
    assert issues["seq_id"].tolist() == [1, 0, 2]
    suspected = dict(zip(issues["seq_id"], issues["suspected"]))
    assert [s["text"] for s in suspected[1]] == ["Rhein: LOC, model says O 0.80"]
    assert suspected[0] == [] and suspected[2] == []  # a B/I confusion is not a type dispute
    # cleanlab's min counts the B/I confusion of seq 0 (0.3) against it, ahead of seq 2
    assert store.label_issues(3, run="h", method="min")["seq_id"].tolist() == [1, 0, 2]
    assert store.label_issues(3, run="h", method="total_loss")["seq_id"].tolist() == [1, 0, 2]
    with pytest.raises(UsageError, match="unknown label-issue method"):
        store.label_issues(3, run="h", method="nope")


def test_rank_mean_is_the_mean_of_two_percent_ranks(built_store):
    # percent rank as SQL's percent_rank(): (number of scored sequences strictly lower) / (n - 1)
    got = lossdb.connect(built_store).label_scores().set_index("seq_id")
    scored = got.dropna(subset=["posterior_softmin", "softmin"])
    assert len(scored) > 10 and scored["posterior_softmin"].rank(method="min").ne(scored["softmin"].rank(method="min")).any()
    want = sum((scored[m].rank(method="min") - 1) / (len(scored) - 1) for m in ("posterior_softmin", "softmin")) / 2
    assert scored["rank_mean"].tolist() == pytest.approx(want.tolist(), abs=1e-9)
    assert got.loc[got["softmin"].isna(), "rank_mean"].isna().all()
    # means that tie in exact arithmetic (ranks 2 + 5 and 4 + 3) are the same double, so ties
    # rank by seq_id and --evaluate sees one threshold, as scikit-learn does
    whole = sum(scored[m].rank(method="min") - 1 for m in ("posterior_softmin", "softmin"))
    tied = scored.groupby(whole)["rank_mean"].nunique()
    assert (scored.groupby(whole).size() > 1).any() and (tied == 1).all()
    # and `issues --method rank_mean` ranks by it, lowest first (ties by seq_id)
    issues = lossdb.connect(built_store).label_issues(5, method="rank_mean")
    assert issues["seq_id"].tolist() == scored.sort_values(["rank_mean"], kind="stable").index[:5].tolist()


def test_ties_rank_by_seq_id(hand_store):
    # threshold_min is 1.0 for seq 0 and seq 2: tied, so seq_id decides
    issues = lossdb.connect(hand_store).label_issues(3, run="h", method="threshold_min")
    assert issues["seq_id"].tolist() == [1, 0, 2]
    assert issues["score"].tolist()[1:] == [1.0, 1.0]


def test_min_and_softmin_equal_cleanlab(built_store):
    from cleanlab.token_classification.rank import get_label_quality_scores

    frame = token_frame(built_store)
    names = frame.attrs["names"]
    seqs = sorted(frame["seq_id"].unique())
    labels = [frame.loc[frame["seq_id"] == s, "label"].map(names.index).tolist() for s in seqs]
    probs = [np.stack(frame.loc[frame["seq_id"] == s, "probs"].to_numpy()).astype(np.float64) for s in seqs]
    got = lossdb.connect(built_store).label_scores().set_index("seq_id")
    for method in ("min", "softmin"):
        scores, _ = get_label_quality_scores(labels, probs, sentence_score_method=method)
        assert got.loc[seqs, method].tolist() == pytest.approx(list(scores), abs=1e-6), method


def test_commit_backfill_and_recomputation_agree(store_copy):
    """What ingest stores at commit, what the backfill computes from the tokens, and what a label
    version recomputes (here for every sequence) are the same numbers."""
    con = duckdb.connect(str(store_copy))
    columns = "seq_id, label_quality, softmin, margin_min, type_stats"
    committed = con.execute(f"SELECT {columns} FROM sequences ORDER BY seq_id").fetchall()
    recomputed = con.execute("SELECT seq_id, softmin, margin_min, type_stats FROM word_label_stats('wp') ORDER BY seq_id").fetchall()
    con.execute("UPDATE sequences SET label_quality = NULL, softmin = NULL, margin_min = NULL, type_stats = NULL")
    con.execute(migration_sql())
    store_db.score_runs(con)  # migration 0007's step
    backfilled = con.execute(f"SELECT {columns} FROM sequences ORDER BY seq_id").fetchall()
    con.close()
    assert len(committed) == 60

    def close(a, b):
        assert a[0] == b[0]
        for x, y in zip(a[1:], b[1:]):
            if isinstance(x, list):
                assert [(s["type"], s["n"]) for s in x] == [(s["type"], s["n"]) for s in y]
                assert [v for s in x for v in (s["sum"], s["min"])] == pytest.approx(
                    [v for s in y for v in (s["sum"], s["min"])], abs=1e-9)
            else:
                assert x == pytest.approx(y, abs=1e-9)

    for a, b in zip(committed, backfilled):
        close(a, b)
    for a, b in zip(committed, recomputed):
        close((a[0], *a[2:]), b)


def import_version(db, name: str, changes: dict[int, list[str]]) -> None:
    from lossdb.ingest.labels import import_labels

    con = store_db.connect(db, read_only=False)
    rows = con.execute("SELECT seq_id, words, labels FROM sequences WHERE run_id = 'wp' ORDER BY seq_id").fetchall()
    path = db.parent / f"{name}.jsonl"
    with path.open("w") as f:
        for seq_id, words, labels in rows:
            f.write(json.dumps({"seq_id": seq_id, "words": words, "labels": changes.get(seq_id, labels)}) + "\n")
    import_labels(con, path, name=name, run="wp")
    con.close()


def flipped(db, seq_ids) -> dict[int, list[str]]:
    """Each sequence's labels with its first word given another type: a known correction."""
    con = duckdb.connect(str(db), read_only=True)
    out = {}
    for seq_id, labels in con.execute("SELECT seq_id, labels FROM sequences WHERE list_contains($ids, seq_id)",
                                      {"ids": list(seq_ids)}).fetchall():
        out[seq_id] = ["B-LOC" if labels[0] != "B-LOC" else "O", *labels[1:]]
    con.close()
    return out


def test_evaluate_agrees_with_scikit_learn(store_copy):
    from sklearn.metrics import average_precision_score, roc_auc_score

    positives = [3, 8, 15, 22, 31, 40, 47, 55]
    import_version(store_copy, "fixed", flipped(store_copy, positives))
    store = lossdb.connect(store_copy)
    table = store.evaluate_rankings("fixed").set_index("method")
    scores = store.label_scores()
    y = scores["seq_id"].isin(positives).to_numpy()
    assert list(table.index) == list(rankings.METHODS) and table["default"].tolist().count(True) == 1
    assert table.loc[rankings.DEFAULT_METHOD, "default"]
    for method, row in table.iterrows():
        s = scores[method].to_numpy(dtype=float)
        s = s if method == "total_loss" else -s
        assert row["n_positives"] == 8 and row["n_sequences"] == 60
        assert row["auprc"] == pytest.approx(average_precision_score(y, s), abs=1e-12), method
        assert row["auroc"] == pytest.approx(roc_auc_score(y, s), abs=1e-12), method
        order = sorted(range(60), key=lambda i: (-s[i], scores["seq_id"][i]))  # ties by seq_id
        for k, name in ((8, "k"), (10, "10"), (50, "50")):
            hits = int(y[order[:k]].sum())
            assert row[f"precision_at_{name}"] == pytest.approx(hits / k)
            assert row[f"recall_at_{name}"] == pytest.approx(hits / 8)
            assert row[f"lift_at_{name}"] == pytest.approx(hits / k / (8 / 60))
        assert row["precision_at_100"] == pytest.approx(8 / 60)  # k past the run: every sequence


def test_average_precision_over_ties_matches_scikit_learn():
    from sklearn.metrics import average_precision_score, roc_auc_score

    rng = np.random.default_rng(14)
    for _ in range(20):
        s = rng.integers(0, 5, size=200).astype(float)  # heavy ties
        y = rng.random(200) < 0.2 + 0.1 * s
        assert rankings.average_precision(y, s) == pytest.approx(average_precision_score(y, s), abs=1e-12)
        assert rankings.auroc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)


def test_cli_and_python_give_the_same_numbers(store_copy, tmp_path):
    import_version(store_copy, "fixed", flipped(store_copy, [1, 2, 30]))
    want = lossdb.connect(store_copy).evaluate_rankings("fixed").to_dict("records")
    plot = tmp_path / "pr.png"
    result = run_cli("issues", "--evaluate", "fixed", "--plot", str(plot), "-f", "json", "--db", str(store_copy))
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)
    assert [g["method"] for g in got] == [w["method"] for w in want]
    for g, w in zip(got, want):
        assert g == pytest.approx(w)
    assert plot.read_bytes()[:4] == b"\x89PNG"
    svg = tmp_path / "pr.svg"
    assert run_cli("issues", "--evaluate", "fixed", "--plot", str(svg), "--db", str(store_copy)).returncode == 0
    text = svg.read_text("utf-8")
    share = want[0]["n_positives"] / want[0]["n_sequences"]
    assert f"random order  AP {share:.3f}" in text  # the baseline a ranking must beat
    # the legend: best AP first
    at = {w["method"]: text.index(f"{w['method']}{' (default)' if w['default'] else ''}  AP {w['auprc']:.3f}")
          for w in want}
    assert sorted(at, key=at.get) == [w["method"] for w in sorted(want, key=lambda w: (-w["auprc"], not w["default"]))]
    table = run_cli("issues", "--evaluate", "fixed", "--db", str(store_copy))
    default_line = next(line for line in table.stdout.splitlines() if line.startswith(rankings.DEFAULT_METHOD))
    assert " * " in default_line
    one = run_cli("issues", "--evaluate", "fixed", "--method", "softmin", "-f", "json", "--db", str(store_copy))
    assert json.loads(one.stdout) == [pytest.approx(w) for w in want if w["method"] == "softmin"]
    listed = json.loads(run_cli("issues", "--methods", "-f", "json").stdout)
    assert [m["method"] for m in listed if m["ranks"] == "run"] == list(rankings.METHODS)
    from lossdb.queries import dynamics
    assert [m["method"] for m in listed if m["ranks"] == "group"] == list(dynamics.METHODS)  # issues --group's


def test_evaluate_refuses_bad_input(built_store):
    result = run_cli("issues", "--evaluate", "nope", "--db", str(built_store))
    assert result.returncode == 4 and "no label version" in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.rstrip().endswith("(--evaluate)")  # the flag that named it, not --labels
    for extra, flag in ((["--n", "3"], "--n"), (["--seq-id", "1"], "--seq-id")):  # options it would ignore
        result = run_cli("issues", "--evaluate", "nope", *extra, "--db", str(built_store))
        assert result.returncode == 2 and result.stderr.startswith(f"lossdb: error: {flag} does not apply to --evaluate")
    result = run_cli("issues", "--methods", "--method", "nope")
    assert result.returncode == 2 and "drop --method" in result.stderr
    result = run_cli("issues", "--seq-id", "99999", "--db", str(built_store))
    assert result.returncode == 4 and "no sequence 99999" in result.stderr and result.stdout == ""
    result = run_cli("issues", "--plot", "x.png", "--db", str(built_store))
    assert result.returncode == 2 and "--evaluate" in result.stderr
    result = run_cli("issues", "--method", "nope", "--db", str(built_store))
    assert result.returncode == 2 and "unknown label-issue method" in result.stderr
    with pytest.raises(StoreError):
        lossdb.connect(built_store).evaluate_rankings("nope")


def test_top_and_issues_rank_by_the_default(built_store):
    store = lossdb.connect(built_store)
    by_default = store.label_issues(8)["seq_id"].tolist()
    assert store.top(8, by="label_quality")["seq_id"].tolist() == by_default
    scores = store.label_scores()
    want = scores.sort_values([rankings.DEFAULT_METHOD, "seq_id"])["seq_id"].tolist()[:8]
    assert by_default == want
    out = json.loads(run_cli("issues", "--n", "8", "-f", "json", "--db", str(built_store)).stdout)
    assert [r["seq_id"] for r in out] == by_default


def test_a_version_is_ranked_with_its_own_thresholds(store_copy):
    changes = flipped(store_copy, [5, 6])
    import_version(store_copy, "fixed", changes)
    store = lossdb.connect(store_copy)
    versioned = store.label_scores(labels="fixed").set_index("seq_id")
    con = duckdb.connect(str(store_copy), read_only=True)
    direct = dict(con.execute(f"SELECT seq_id, {rankings.DEFAULT_METHOD} FROM label_scores('wp', p_labels := 'fixed')").fetchall())
    posterior = dict(con.execute("SELECT seq_id, posterior_softmin FROM label_scores('wp', p_labels := 'fixed')").fetchall())
    recomputed = {r[0]: r for r in con.execute(
        "SELECT seq_id, min_self, softmin FROM word_label_stats('wp', p_labels := 'fixed')").fetchall()}
    con.close()
    assert sorted(recomputed) == [5, 6]  # only the changed sequences are recomputed
    for seq_id, min_self, softmin in recomputed.values():
        assert versioned.loc[seq_id, "min"] == pytest.approx(min_self)
        assert versioned.loc[seq_id, "softmin"] == pytest.approx(softmin)
    top = store.top(60, by="label_quality", labels="fixed")
    assert dict(zip(top["seq_id"], top["label_quality"])) == pytest.approx(direct)
    # what the default ranks under the version was stored at import, every sequence's, as the macro computes it
    stored, fresh = version_scores(store_copy, "wp", "fixed")
    assert len(stored) == 60 and stored == pytest.approx(fresh, abs=1e-12) and posterior == pytest.approx(stored)
    gold = dict(zip(*[store.label_scores()[c] for c in ("seq_id", "posterior_softmin")]))
    assert all(stored[s] != pytest.approx(gold[s], abs=1e-9) for s in (5, 6))  # the corrected ones changed


def test_version_scores_follow_replace_and_the_migration(store_copy):
    import_version(store_copy, "fixed", flipped(store_copy, [5, 6]))
    first, _ = version_scores(store_copy, "wp", "fixed")
    # import again under the same name with other corrections (--replace): the scores are the new version's
    from lossdb.ingest.labels import import_labels

    changes = flipped(store_copy, [1, 2, 3])
    con = store_db.connect(store_copy, read_only=False)
    rows = con.execute("SELECT seq_id, words, labels FROM sequences WHERE run_id = 'wp' ORDER BY seq_id").fetchall()
    path = store_copy.parent / "again.jsonl"
    path.write_text("".join(json.dumps({"seq_id": s, "words": w, "labels": changes.get(s, l)}) + "\n" for s, w, l in rows))
    import_labels(con, path, name="fixed", run="wp", replace=True)
    con.close()
    stored, fresh = version_scores(store_copy, "wp", "fixed")
    assert len(stored) == 60 and stored == pytest.approx(fresh, abs=1e-12) and stored != first
    # an older store (before migration 0007) gets them from the migration's step
    con = duckdb.connect(str(store_copy))
    con.execute("DELETE FROM version_quality")
    assert store_db.score_runs(con) == "rescored the label quality of 1 run"
    con.close()
    assert version_scores(store_copy, "wp", "fixed")[0] == pytest.approx(stored, abs=1e-12)


@needs_shared
def test_label_noise_benchmark_looks_like_annotation_errors(tmp_path):
    """bench/label_noise.py: a few percent of the PAN-X sentences get exactly one annotation error
    each (valid IOB2 kept), the rest are untouched; the clean copy keys every sentence by seq_id."""
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "bench" / "label_noise.py"
    spec = importlib.util.spec_from_file_location("label_noise", script)
    noise = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(noise)
    for per in ("sentence", "word"):
        summary = noise.make(PANX, tmp_path / per, rate=0.04, seed=14, per=per)
        clean = [json.loads(line) for line in (tmp_path / per / "clean.jsonl").read_text("utf-8").splitlines()]
        noisy = noise.read_conll(tmp_path / per / "noisy.conll")
        assert len(clean) == len(noisy) == summary["sentences"] == 10_000
        changed = [i for i, (c, (words, tags)) in enumerate(zip(clean, noisy)) if c["labels"] != tags]
        assert changed == summary["changed_seq_ids"] and 350 <= len(changed) <= 400
        assert set(summary["kinds"]) == set(noise.KINDS) and all(v > 30 for v in summary["kinds"].values())
        for i in changed:
            words, tags = noisy[i]
            assert words == clean[i]["words"] and clean[i]["seq_id"] == i
            assert all(not t.startswith("I-") or (j > 0 and tags[j - 1][2:] == t[2:] and tags[j - 1] != "O")
                       for j, t in enumerate(tags)), tags  # still IOB2
