"""Comparing two runs over the same data (two checkpoints, two models): the sequences whose loss
changed most, and the per-label and per-entity-type changes.

Sequences pair up by seq_key (the source's id column where it has one, else the hash of the
words), so runs of models with different tokenizers compare word for word; the k-th copy of a
sentence repeated in the data pairs with the k-th copy in the other run. Every change is b - a.
"""
from __future__ import annotations

from lossdb.errors import StoreError, UsageError

from .analysis import run_labels
from .core import check_n, check_ranking, resolve_run
from .result import Result, named

VIEWS = ("sequences", "labels", "entities")


def _runs(con, run_a: str, run_b: str, labels: str) -> tuple[str, str, str]:
    a, labels_a = run_labels(con, run_a, labels, "run_a", paired=True)
    b, labels_b = run_labels(con, run_b, labels, "run_b", paired=True)
    if a == b:
        raise UsageError(f"both runs are {a!r}", "compare two different runs, e.g. two checkpoints over the same data")
    shared = named(con, "compare_overlap", {"run_a": a, "run_b": b}).value("shared")
    if not shared:
        raise StoreError(f"runs {a!r} and {b!r} share no sequences",
                         "compare runs over the same data: sequences pair up by source id, else by their words")
    return a, b, labels_a


def compare_sequences(con, run_a: str, run_b: str, *, n: int = 10, by: str = "total_loss", labels: str = "gold") -> Result:
    """The n shared sequences whose `by` (total_loss, mean_loss or label_quality) changed most
    from run a to run b (largest absolute change first), with both runs' figures and the text."""
    check_n(n)
    check_ranking(by)
    a, b, labels = _runs(con, run_a, run_b, labels)
    return named(con, "compare_sequences", {"run_a": a, "run_b": b, "labels": labels, "by": by, "n": n})


def compare_labels(con, run_a: str, run_b: str, *, labels: str = "gold") -> Result:
    """Per label: each run's token count, mean loss and accuracy, and the change."""
    a, b, labels = _runs(con, run_a, run_b, labels)
    return named(con, "compare_labels", {"run_a": a, "run_b": b, "labels": labels})


def compare_entities(con, run_a: str, run_b: str, *, labels: str = "gold", mode: str = "default",
                     scheme: str | None = None) -> Result:
    """Per entity type and averaged: each run's entity-level precision, recall and F1 (seqeval,
    `mode`, and `scheme` in strict mode) and the change, with each run's support."""
    from . import entities  # numpy loads here, not for every command

    a, b, labels = _runs(con, run_a, run_b, labels)
    score_a, score_b = ({row["type"]: row for row in entities.entity_scores(
        con, run=run, labels=labels, mode=mode, scheme=scheme).records()} for run in (a, b))
    types = sorted(t for t in set(score_a) | set(score_b) if t not in entities.AVERAGES)
    measures = ("f1", "precision", "recall")
    rows = []
    for t in [*types, *entities.AVERAGES]:
        ra, rb = score_a.get(t), score_b.get(t)
        row = {"type": t, "support_a": ra["support"] if ra else 0, "support_b": rb["support"] if rb else 0}
        for m in measures:
            va = ra[m] if ra else None
            vb = rb[m] if rb else None
            row.update({f"{m}_a": va, f"{m}_b": vb, f"delta_{m}": vb - va if va is not None and vb is not None else None})
        rows.append(row)
    return Result.from_records(["type", "f1_a", "f1_b", "delta_f1", "precision_a", "precision_b", "delta_precision",
                                "recall_a", "recall_b", "delta_recall", "support_a", "support_b"], rows)


def overlap(con, run_a: str, run_b: str) -> dict:
    """How many sequences two runs share (paired as compare_sequences pairs them) and how many
    each has: where they differ, the labels and entities comparisons mix coverage with quality."""
    a, b = resolve_run(con, run_a, "run_a"), resolve_run(con, run_b, "run_b")
    return named(con, "compare_overlap", {"run_a": a, "run_b": b}).one()


def compare(con, run_a: str, run_b: str, *, what: str = "sequences", n: int | None = None, by: str | None = None,
            labels: str = "gold", mode: str = "default", scheme: str | None = None) -> Result:
    """One of the three comparisons: ``what`` is sequences (`n`, default 10, ranked by `by`,
    default total_loss), labels or entities (decoded by `mode` and `scheme`)."""
    if what not in VIEWS:
        raise UsageError(f"cannot compare {what!r}", f"choose one of {', '.join(VIEWS)}", parameter="what")
    # an option of one view, given to another, would be ignored: refused with the view it needs
    for name, given, view in (("n", n is not None, "sequences"), ("by", by is not None, "sequences"),
                              ("mode", mode != "default", "entities"), ("scheme", scheme is not None, "entities")):
        if given and what != view:
            raise UsageError(f"{name} applies to what={view!r} only", f"pass what={view!r}, or leave out {name}",
                             parameter=name, cli_message=f"--{name} applies to compare --what {view} only",
                             cli_hint=f"add --what {view}, or leave out --{name}")
    if what == "sequences":
        return compare_sequences(con, run_a, run_b, n=10 if n is None else n, by=by or "total_loss", labels=labels)
    if what == "labels":
        return compare_labels(con, run_a, run_b, labels=labels)
    return compare_entities(con, run_a, run_b, labels=labels, mode=mode, scheme=scheme)


__all__ = ["VIEWS", "compare", "compare_entities", "compare_labels", "compare_sequences"]
