"""Label-issue rankings: which sequences most likely carry a wrong label, by several published
methods computed from the stored probabilities (no re-scoring), and how well each finds a set of
known corrections (issue #14).

Every method judges a sequence by its words: the first subword of each word carries the word's
label, as at ingest. The scores come from sql/schema/177_label_scores.sql (``label_scores``);
lower means more likely mislabelled, except ``total_loss`` (higher).

- ``min``, ``softmin``: cleanlab's token-classification sentence scores (Wang & Mueller 2022,
  ``cleanlab.token_classification.rank.get_label_quality_scores``): the worst word's
  self-confidence p(label), and its soft-min at temperature 0.05.
- ``type_min``: the worst word's type-level self-confidence, p(B-X) + p(I-X) for a word labelled
  B-X or I-X, so a B/I prefix confusion is not a label error.
- ``type_margin``: the worst type-level normalized margin, (p(type) - max p(other type) + 1) / 2
  (cleanlab's ``normalized_margin``, on types).
- ``posterior_softmin``: the soft-min, as cleanlab's, of each word's probability
  that its label is right, by Bayes' rule under class-conditional noise. Confident learning
  (Northcutt et al. 2021) estimates how labels get corrupted from the run itself: the confident
  joint counts the words labelled i that the model is confidently of type j (at or above j's
  threshold). With T[j][i] the share of the words confidently of type j that are labelled i, a
  word labelled i keeps T[i][i] p(i) / sum_j T[j][i] p(j). So a disagreement of a kind the run
  seldom shows (an entity label where the model is confident of O: annotators rarely invent
  entities) weighs less than one of a kind it often shows (O where the model sees a name:
  annotators often miss them). One pseudo-count in every cell of the joint (Laplace) keeps a
  type no word is confident of from dividing 0 by 0. sql/schema/176_posterior_quality.sql.
- ``rank_mean`` (the default): the mean of the sequence's percent ranks under
  ``posterior_softmin`` and under ``softmin`` (Borda's count of the two): posterior_softmin's
  precise head with softmin's recall further down. BENCHMARKS.md: the best of all methods on
  held-out real corrections and on both synthetic benchmarks, and tied with posterior_softmin
  out-of-fold. It is a rank within the run, not a probability: 0 is the run's most suspect
  sequence under both, 1 the least.
- ``threshold_min``: confident learning's per-class thresholds (Northcutt et al. 2021): each
  word's type-level self-confidence divided by its type's threshold, the mean self-confidence
  of the words labelled with that type, capped at 1; the worst word. A rare type whose words
  the model is less sure of is judged against its own mean, not drowned by O.
- ``threshold_sidak``: threshold_min corrected for the number of words judged, the chance that
  the least of n such scores is as low, 1 - (1 - s)^n (Sidak's correction for the minimum of n
  tests). It wins when errors fall on sentences regardless of their length and loses when they
  fall on words (long sentences holding more of them); BENCHMARKS.md has both, which is why it
  is not the default.
- ``total_loss``: the book's ranking, for comparison.

Nothing is fitted to a data set: the thresholds and the noise estimate are the run's own, the
temperature is cleanlab's. ``lossdb top --by label_quality`` and ``export --by label_quality`` rank by the
default, stored at commit as ``sequences.label_quality``. BENCHMARKS.md has the figures that
made it the default.
"""
from __future__ import annotations

from lossdb.errors import UsageError

from .core import run_labels
from .core import check_n
from .result import Result, named
from .versions import check_labels

METHODS = {
    "rank_mean": "mean of the sequence's percent ranks under posterior_softmin and softmin",
    "posterior_softmin": "soft-min of each word's P(label right) under confident learning's noise estimate",
    "threshold_min": "confident-learning type thresholds: worst word's type confidence / its type's mean",
    "threshold_sidak": "threshold_min corrected for the number of words, 1 - (1 - s)^n",
    "type_min": "worst word's type-level confidence (B-X + I-X)",
    "type_margin": "worst word's type-level normalized margin",
    "softmin": "cleanlab: soft-min (temperature 0.05) of the words' self-confidence",
    "min": "cleanlab: worst word's self-confidence",
    "total_loss": "the book's total loss (highest first)",
}
DEFAULT_METHOD = "rank_mean"
DESCENDING = {"total_loss"}  # high values are suspect
EVALUATION_KS = (10, 50, 100)


def check_method(method: str) -> str:
    if method not in METHODS:
        from .dynamics import METHODS as GROUP_METHODS

        hint = (f"{method} ranks by training dynamics: name the run group too" if method in GROUP_METHODS
                else f"choose one of {', '.join(METHODS)} (see `lossdb issues --methods`)")
        raise UsageError(f"unknown label-issue method {method!r}", hint, parameter="group" if method in GROUP_METHODS
                         else "method")
    return method


def methods() -> Result:
    """The ranking methods: name, whether it is the default, what it ranks (one run, or a group
    of runs: issues --group), what it scores."""
    from .dynamics import DESCRIPTIONS

    return Result(["method", "default", "ranks", "description"],
                  [(name, name == DEFAULT_METHOD, "run", text) for name, text in METHODS.items()]
                  + [(name, False, "group", text) for name, text in DESCRIPTIONS.items()])


def label_scores(con, *, run: str | None = None, labels: str = "gold") -> Result:
    """Every method's score of every sequence of a run (seq_id order), judged against `labels`."""
    run_id, labels = run_labels(con, run, labels)
    return named(con, "label_scores", {"run": run_id, "labels": labels})


# --- ranked suspects ------------------------------------------------------------------------------------


def label_issues(con, n: int = 10, *, run: str | None = None, labels: str = "gold",
                 method: str = DEFAULT_METHOD) -> Result:
    """The n sequences most likely to carry a label error by `method`, most suspect first (ties
    by seq_id): rank, run_id, seq_id, score (the method's: for the default, the stored
    label_quality), total_loss,
    n_suspects, text, suspected (entity-level: one dict per run of words whose labelled type
    the model disputes, with words, label, model type, p_model and p_label, and as text
    "Rhein: O, model says LOC 0.97") and suspects (cleanlab's confident-learning token flags)."""
    check_n(n)
    method = check_method(method)
    run_id, labels = run_labels(con, run, labels)
    ranked = named(con, "label_issues", {"run": run_id, "labels": labels, "method": method,
                                         "default": DEFAULT_METHOD, "descending": method in DESCENDING, "n": n})
    at = ranked.columns.index("seq_id")
    ids = [row[at] for row in ranked.rows]
    tokens = dict(named(con, "label_issue_suspects", {"run": run_id, "labels": labels, "seq_ids": ids}).rows) if ids else {}
    suspected = suspected_entities(con, run_id, labels, ids) if ids else {}
    text_at = ranked.columns.index("text")
    rows = [(*row[:text_at], len(suspected.get(row[at], [])), row[text_at], suspected.get(row[at], []),
             tokens.get(row[at], [])) for row in ranked.rows]
    return Result([*ranked.columns[:text_at], "n_suspects", "text", "suspected", "suspects"], rows)


def suspected_text(suspected: list[dict]) -> str:
    """A sequence's suspected entities as one line, as `lossdb issues` and the report show them."""
    return "; ".join(s["text"] for s in suspected or [])


def suspected_entities(con, run_id: str, labels: str, seq_ids: list[int]) -> dict[int, list[dict]]:
    """Per sequence, what the type-level methods suspect: each run of neighbouring words whose
    labelled type (B-X and I-X merged) differs from the type the model gives most probability,
    grouped while both types stay the same; p_model and p_label are the words' mean probability
    of the model's type and of the labelled type. Most confident dispute first."""
    names = named(con, "run_label_names", {"run": run_id}).rows[0][0]
    types = [name.split("-", 1)[1] if "-" in name else name for name in names]
    order = sorted(set(types))
    words = named(con, "label_issue_words", {"run": run_id, "labels": labels, "seq_ids": seq_ids})
    col = {c: i for i, c in enumerate(words.columns)}
    found: dict[int, list[dict]] = {}
    current = None
    for row in words.rows:
        seq_id, word_index, word, label, probs = (row[col[c]] for c in ("seq_id", "word_index", "word", "label", "probs"))
        mass = {t: 0.0 for t in order}
        for t, p in zip(types, probs):
            mass[t] += p
        given = label.split("-", 1)[1] if "-" in label else label
        model = max(order, key=lambda t: (mass[t], t == given))
        if model == given:
            current = None
            continue
        if (current is not None and current["seq_id"] == seq_id and current["end_word"] == word_index
                and current["label"] == given and current["model"] == model):
            current["words"].append(word)
            current["end_word"] = word_index + 1
            current["_p_model"].append(mass[model])
            current["_p_label"].append(mass[given])
            continue
        current = {"seq_id": seq_id, "start_word": word_index, "end_word": word_index + 1, "words": [word],
                   "label": given, "model": model, "_p_model": [mass[model]], "_p_label": [mass[given]]}
        found.setdefault(seq_id, []).append(current)
    out: dict[int, list[dict]] = {}
    for seq_id, spans in found.items():
        items = []
        for s in spans:
            p_model = sum(s["_p_model"]) / len(s["_p_model"])
            p_label = sum(s["_p_label"]) / len(s["_p_label"])
            text = " ".join(s["words"])
            items.append({"start_word": s["start_word"], "end_word": s["end_word"], "words": text,
                          "label": s["label"], "model": s["model"], "p_model": p_model, "p_label": p_label,
                          "text": f"{text}: {s['label']}, model says {s['model']} {p_model:.2f}"})
        out[seq_id] = sorted(items, key=lambda s: (-s["p_model"], s["start_word"]))
    return out


# --- measuring a ranking against known corrections ---------------------------------------------------------


def evaluate(con, truth: str, *, run: str | None = None, labels: str = "gold",
             methods: list[str] | None = None) -> Result:
    """How well each method finds the corrections of label version `truth`: a sequence is a
    positive when `truth` gives it other word labels than `labels`. Per method (default first
    marked): n_sequences, n_positives, auprc (average precision, as scikit-learn's
    average_precision_score computes it: tied scores form one threshold), auroc (tied scores
    count a half), and at k = n_positives (columns ``*_at_k``) and k = 10, 50, 100: precision,
    recall and lift (precision over the share of positives). At k, ties are ranked by seq_id,
    as `lossdb issues` lists them. A sequence with no labelled word ranks last."""
    import numpy as np

    run_id, labels = run_labels(con, run, labels)
    truth = check_labels(con, run_id, truth, "truth")
    if truth == labels:
        raise UsageError(f"label version {truth!r} is the one being ranked",
                         "evaluate against another version, e.g. imported corrections (lossdb import-labels)")
    if isinstance(methods, str):  # one method named as a string, not its letters
        methods = [methods]
    chosen = [check_method(m) for m in (methods or list(METHODS))]
    scores, y = _scores_and_truth(con, run_id, labels, truth)
    n, n_pos = len(y), int(y.sum())
    if n_pos == 0:
        raise UsageError(f"label version {truth!r} changes no sequence's labels against {labels!r}",
                         "evaluate against a version that corrects some labels")
    columns = ["method", "default", "n_sequences", "n_positives", "auprc", "auroc",
               "precision_at_k", "recall_at_k", "lift_at_k"]
    for k in EVALUATION_KS:
        columns += [f"precision_at_{k}", f"recall_at_{k}", f"lift_at_{k}"]
    rows = []
    for method in chosen:
        s = suspicion(scores[method], descending=method in DESCENDING)
        order = np.argsort(-s, kind="stable")  # most suspect first; rows are in seq_id order, so ties by seq_id
        ap, auc = _metrics(y[order], s[order])
        row = [method, method == DEFAULT_METHOD, n, n_pos, ap, auc]
        for k in (n_pos, *EVALUATION_KS):
            hits = int(y[order[:k]].sum())
            precision = hits / min(k, n)
            row += [precision, hits / n_pos, precision / (n_pos / n)]
        rows.append(tuple(row))
    return Result(columns, rows)


def _sql(name: str) -> str:
    from lossdb import sql

    return sql.read(name)


def _scores_and_truth(con, run_id: str, labels: str, truth: str):
    """Every method's scores (arrays in seq_id order) and the matching positives (bool array)."""
    import numpy as np

    scores = con.execute(_sql("label_scores"), {"run": run_id, "labels": labels}).fetchnumpy()
    positives = con.execute(_sql("evaluation_truth"), {"run": run_id, "truth": truth, "labels": labels}).fetchnumpy()
    return scores, np.isin(np.asarray(scores["seq_id"]), np.asarray(positives["seq_id"]))


def _metrics(ys, ss) -> tuple[float, float]:
    """(average precision, AUROC) of positives `ys` ranked by scores `ss`, both already sorted
    from the most suspect down. Tied scores are one threshold for average precision (as
    sklearn.metrics.average_precision_score) and count a half for AUROC (roc_auc_score)."""
    import numpy as np

    last = np.r_[np.flatnonzero(ss[1:] != ss[:-1]), len(ss) - 1]  # the end of each tie group
    tps = np.cumsum(ys)[last]
    fps = last + 1 - tps
    n_pos, n_neg = tps[-1], fps[-1]
    precision = tps / (last + 1)
    ap = float(np.sum(np.diff(np.r_[0, tps]) / n_pos * precision))
    if n_neg == 0:
        return ap, float("nan")
    pos_g, neg_g = np.diff(np.r_[0, tps]), np.diff(np.r_[0, fps])
    neg_below = n_neg - fps  # negatives in the groups after (less suspect than) each group
    auc = float(np.sum(pos_g * (neg_below + 0.5 * neg_g)) / (n_pos * n_neg))
    return ap, auc


def suspicion(values, *, descending: bool):
    """Scores as floats where higher is more suspect; a missing score (NULL, no labelled word)
    is the least suspect of all."""
    import numpy as np

    values = np.ma.filled(np.ma.masked_invalid(np.ma.asarray(values, dtype=float)), np.nan)
    s = values if descending else -values
    return np.where(np.isnan(s), -np.inf, s)


def average_precision(y, s) -> float:
    """Average precision of scores `s` (higher = more suspect) for positives `y`, tied scores as
    one threshold: the sum over distinct thresholds of (recall gain) * precision, as
    sklearn.metrics.average_precision_score."""
    import numpy as np

    y, s = np.asarray(y, dtype=bool), np.asarray(s, dtype=float)
    order = np.argsort(-s, kind="stable")
    return _metrics(y[order], s[order])[0]


def auroc(y, s) -> float:
    """Area under the ROC curve: the chance a positive scores above a negative, ties a half (as
    sklearn.metrics.roc_auc_score)."""
    import numpy as np

    y, s = np.asarray(y, dtype=bool), np.asarray(s, dtype=float)
    order = np.argsort(-s, kind="stable")
    return _metrics(y[order], s[order])[1]


__all__ = ["DEFAULT_METHOD", "METHODS", "average_precision", "auroc", "check_method", "evaluate", "label_issues",
           "label_scores", "methods", "suspected_entities"]
