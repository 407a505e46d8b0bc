"""Error analysis beyond the top table: loss by token and by label, the confusion matrix, label
issues, search, and per-run summaries.

Every question reads token rows through ``token_labels(run, labels)`` (sql/schema/170), so it
answers against any label version: ``labels="gold"`` is the source's own labels.
"""
from __future__ import annotations

import shlex
from typing import Sequence

from lossdb.errors import StoreError, UsageError
from lossdb.text import counted

from . import tags
from .core import GOLD, check_labels, check_n, check_seq_id, label_names, resolve_run, run_labels
from .result import Result, named

TOKEN_LISTS = ("tokens", "labels", "preds", "losses")  # a sequence's aligned lists, as `top` returns them
SUMMARY_GROUPS = ("run", "split", "language", "model")


# --- loss by token, by label ---------------------------------------------------------------------


def loss_by_token(con, n: int | None = None, *, run: str | None = None, labels: str = "gold") -> Result:
    """Count, mean and sum of the loss per input token over the labelled tokens (first subwords),
    highest sum first: the book's table led by '▁der' and '▁in'. `n`: the first n (None: all)."""
    if n is not None:
        check_n(n)
    run_id, labels = run_labels(con, run, labels)
    return named(con, "loss_by_token", {"run": run_id, "labels": labels, "n": n})


def loss_by_label(con, *, run: str | None = None, labels: str = "gold") -> Result:
    """Count, mean and sum of the loss per label, highest mean first (the book's table), and the
    share of the label's tokens predicted as that label (accuracy)."""
    run_id, labels = run_labels(con, run, labels)
    return named(con, "loss_by_label", {"run": run_id, "labels": labels})


# --- confusion matrix -------------------------------------------------------------------------------


def confusion_long(con, *, run: str | None = None, labels: str = "gold") -> Result:
    """The confusion matrix in long form: label, pred, count, fraction (row-normalised), one row
    per pair of the run's label names, in label-name order."""
    run_id, labels = run_labels(con, run, labels)
    return named(con, "confusion", {"run": run_id, "labels": labels})


def confusion(con, *, run: str | None = None, labels: str = "gold", normalize: bool = False) -> Result:
    """The confusion matrix of gold labels (rows, column ``label``) against predictions (one
    column per label name): token counts, or with `normalize` each row divided by its total
    (the book's normalised matrix; 0 for a label no token carries)."""
    run_id, labels = run_labels(con, run, labels)
    names = label_names(con, run_id)
    long = named(con, "confusion", {"run": run_id, "labels": labels})
    value = "fraction" if normalize else "count"
    cells = {(cell["label"], cell["pred"]): cell[value] for cell in long.records()}
    rows = [(gold, *(cells.get((gold, pred), 0) for pred in names)) for gold in names]
    return Result(["label", *names], rows)


# --- label issues -----------------------------------------------------------------------------------


def label_issues(con, n: int = 10, *, run: str | None = None, labels: str = "gold", method: str | None = None) -> Result:
    """The n sequences most likely to carry a label error by `method` (None: the default), most
    suspect first, with what each suspects: lossdb.queries.rankings.label_issues, where the
    methods are described."""
    from . import rankings

    return rankings.label_issues(con, n, run=run, labels=labels, method=method or rankings.DEFAULT_METHOD)


def token_issues(con, *, run: str | None = None, labels: str = "gold", seq_id: int | None = None,
                 only_issues: bool = True, n: int | None = None) -> Result:
    """Labelled tokens with their self-confidence (p_label), the probability of the prediction
    (p_pred), the given class's confident-learning threshold and cleanlab's confident-learning
    flag (is_issue); by default only flagged tokens, least confident first."""
    if n is not None:
        check_n(n)
    run_id, labels = run_labels(con, run, labels)
    if seq_id is not None:
        check_seq_id(con, run_id, seq_id)
    return named(con, "token_issues", {"run": run_id, "labels": labels, "seq_id": seq_id,
                                       "only_issues": only_issues, "n": n})


# --- search -------------------------------------------------------------------------------------------


def search(con, token: str | None = None, *, word: str | None = None, label: str | None = None,
           pred: str | None = None, errors: bool = False, n: int = 3, run: str | None = None,
           labels: str = "gold") -> Result:
    """The sequences with a token matching every condition given (the book's search for '▁('):
    the token as the tokenizer prints it, the word it belongs to, its label, its prediction,
    `errors` for labelled tokens predicted wrong. Highest total loss first, n of them, each with
    the ordered tokens / labels / preds / losses lists of `top`, n_matches (its matching tokens),
    positions (theirs, as tokens.position) and n_sequences (how many sequences match in all)."""
    check_n(n)
    if token is None and word is None and label is None and pred is None and not errors:
        raise UsageError("search needs something to look for",
                         "give a token (e.g. 'der'), or a word, label, pred, or errors=True",
                         cli_hint="give a token (e.g. lossdb search der), or --word, --label, --pred or --errors")
    run_id, labels = run_labels(con, run, labels)
    names = label_names(con, run_id)
    for parameter, value in (("label", label), ("pred", pred)):
        if value is not None and value not in names:  # 'ORG' for B-ORG/I-ORG would find nothing, silently
            like = [n for n in names if n.lower().endswith("-" + value.lower()) or n.lower() == value.lower()]
            raise UsageError(f"run {run_id!r} has no label {value!r}",
                             f"choose one of {', '.join(like or names)}", parameter=parameter)
    ranked = named(con, "search", {"run": run_id, "labels": labels, "token": token, "word": word,
                                   "label": label, "pred": pred, "errors": bool(errors), "n": n})
    return with_token_lists(con, ranked, run_id, labels)


def search_hint(con, token: str, *, run: str | None = None) -> str | None:
    """For a token no sequence of `run` holds: what to search for instead (the tokens it differs
    from only in case or word marks, as the tokenizer writes them; the word, where the data has
    it), else None."""
    run_id = resolve_run(con, run)
    found = named(con, "search_similar_tokens", {"run": run_id, "token": token}).one()
    if found["n_token"]:
        return None  # the token is there: the other conditions matched none of its rows
    tries = [f"lossdb search {shlex.quote(t)}" for t in found["tokens"] or []]
    if found["n_word"]:
        tries.append(f"--word {shlex.quote(token)} ({counted(found['n_word'], 'sequence')} have the word)")
    if not tries:
        return None
    return "tokens are searched as the tokenizer writes them; try " + ", or ".join(tries)


def with_token_lists(con, ranked: Result, run_id: str, labels: str) -> Result:
    """`ranked` (one row per sequence, with seq_id) with each sequence's ordered tokens /
    labels / preds / losses appended: the shape of `top`. Fetched for those sequences only."""
    ids = ranked.column("seq_id")
    lists = {}
    if ids:
        for found in named(con, "sequence_lists", {"run": run_id, "labels": labels, "seq_ids": ids}).records():
            lists[found["seq_id"]] = found
    columns = [*ranked.columns, *TOKEN_LISTS]
    empty = dict.fromkeys(TOKEN_LISTS, [])
    return Result.from_records(columns, [{**r, **{c: lists.get(r["seq_id"], empty)[c] for c in TOKEN_LISTS}}
                                         for r in ranked.records()])


# --- summaries ------------------------------------------------------------------------------------------


def summary(con, *, by: str = "run", labels: str = "gold", entities: bool = True, mode: str = "default",
            scheme: str | None = None, runs: Sequence[str] | None = None) -> Result:
    """Per run (or per split, language or model, over the runs that share it): sequences, labelled
    tokens, token errors, mean loss per labelled token, token accuracy, sequences with errors,
    mean posterior_softmin (comparable across runs, unlike label_quality's rank) and, with
    `entities`, entity-level micro precision / recall / F1 (seqeval, `mode`, and `scheme` in
    strict mode); all of it judged against label version `labels` where a run has it (gold
    otherwise: the `labels` column says which). A version no run summarised has is an error.
    language is read from the data source's name (e.g. PAN-X.de), NULL when it names none.
    `runs`: only these runs (each resolved as --run is; all complete runs when None)."""
    if by not in SUMMARY_GROUPS:
        raise UsageError(f"cannot summarise by {by!r}", f"choose one of {', '.join(SUMMARY_GROUPS)}", parameter="by")
    if not entities and (mode != "default" or scheme is not None):
        raise UsageError("mode and scheme decode entities, and entities=False leaves them out",
                         "leave out mode and scheme, or keep the entities",
                         cli_hint="leave out --mode and --scheme, or --no-entities")
    if isinstance(runs, str):  # one run named as a string, not its letters
        runs = [runs]
    base = named(con, "run_summary")
    records = base.records()
    if runs is not None:
        wanted = {resolve_run(con, r, "runs") for r in runs}
        records = [r for r in records if r["run_id"] in wanted]
    for r in records:
        r["labels"] = labels if labels == GOLD or _has_version(con, r["run_id"], labels) else GOLD
    if labels != GOLD and records and all(r["labels"] == GOLD for r in records):
        check_labels(con, records[0]["run_id"], labels)  # the error, naming the versions there are
    for r in records:
        version = r["labels"]
        if version != GOLD:
            r.update(named(con, "summary_under_version", {"run": r["run_id"], "labels": version}).one())
        if entities:
            from . import entities as entity_queries  # numpy loads here, not for every command

            micro = next(row for row in entity_queries.entity_scores(
                con, run=r["run_id"], labels=version, mode=mode, scheme=scheme).records() if row["type"] == "micro avg")
            r.update(entity_precision=micro["precision"], entity_recall=micro["recall"], entity_f1=micro["f1"],
                     n_entities=micro["support"], n_pred_entities=micro["n_pred"],
                     n_correct_entities=micro["n_correct"])
    if by == "run":
        columns = list(base.columns) + ["labels"] + (["entity_precision", "entity_recall", "entity_f1"] if entities else [])
        return Result(columns, [tuple(r[c] for c in columns) for r in records])
    groups: dict = {}
    for r in records:
        groups.setdefault(r[by], []).append(r)
    columns = [by, "n_runs", "runs", "labels", "n_sequences", "n_labelled", "n_errors", "mean_loss", "token_accuracy",
               "n_sequences_with_errors"]
    if entities:
        columns += ["entity_precision", "entity_recall", "entity_f1"]
    rows = []
    for key, members in sorted(groups.items(), key=lambda kv: (kv[0] is None, str(kv[0]))):
        n_labelled = sum(m["n_labelled"] for m in members)
        n_errors = sum(m["n_errors"] for m in members)
        total = sum((m["mean_loss"] or 0.0) * m["n_labelled"] for m in members)
        row = [key, len(members), ", ".join(m["run_id"] for m in members),
               ", ".join(sorted({m["labels"] for m in members})),  # a run without the version is judged by gold
               sum(m["n_sequences"] for m in members),
               n_labelled, n_errors, total / n_labelled if n_labelled else None,
               1 - n_errors / n_labelled if n_labelled else None,
               sum(m["n_sequences_with_errors"] for m in members)]
        if entities:
            c = sum(m["n_correct_entities"] for m in members)
            p = sum(m["n_pred_entities"] for m in members)
            g = sum(m["n_entities"] for m in members)
            row += list(tags.scores(g, p, c))
        rows.append(tuple(row))
    return Result(columns, rows)


def _has_version(con, run_id: str, labels: str) -> bool:
    try:
        check_labels(con, run_id, labels)
    except StoreError:
        return False
    return True


__all__ = ["SUMMARY_GROUPS", "TOKEN_LISTS", "confusion", "confusion_long", "label_issues",
           "loss_by_label", "loss_by_token", "run_labels", "search", "summary",
           "token_issues", "with_token_lists"]
