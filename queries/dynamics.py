"""Training dynamics of a group of runs (issue #15): per word and per sequence, confidence,
variability, correctness, forgetting events and AUM across the group's runs in step order,
the rankings they give for `lossdb issues --group`, and the data map.

A group is a set of runs over the same sequences, one per epoch or checkpoint:
`LossdbCallback` (lossdb.integrations.transformers) writes one per epoch, `lossdb ingest
--group G --step S` one per checkpoint. Everything is computed in SQL from the stored
probabilities (sql/schema/37x_group_*.sql).

    >>> from lossdb.queries import dynamics
    >>> dynamics.sequence_dynamics(con, "train", n=20, method="aum").df()
"""
from __future__ import annotations


from lossdb.errors import StoreError, UsageError

from .core import check_n
from .result import Result, named

# How `issues --group` ranks sequences: aum, confidence and correctness by the sequence's
# worst word (lowest first), forgetting and variability highest first.
METHODS = ("aum", "confidence", "correctness", "forgetting", "variability")
DESCRIPTIONS = {
    "aum": "worst word's area under the margin across the group's runs (Pleiss et al. 2020)",
    "confidence": "worst word's mean probability of its label across the runs (data maps)",
    "correctness": "worst word's share of runs that predict its label",
    "forgetting": "forgetting events (a word right at one step, wrong at the next), most first",
    "variability": "spread of the label's probability across the runs, highest first (data maps)",
}


def check_method(method: str) -> str:
    if method not in METHODS:
        raise UsageError(f"cannot rank a group by {method!r}", f"choose one of {', '.join(METHODS)}", parameter="method")
    return method


def groups(con) -> Result:
    """Every group of complete runs: group_name, n_runs, last_created_at."""
    return named(con, "group_names")


def group_runs(con, group: str) -> Result:
    """The complete runs of `group` in step order (run_id, step, ..., train_seconds,
    scoring_seconds); a group with no complete run is a StoreError naming the groups there are."""
    result = named(con, "group_runs", {"group": group})
    if not result.rows:
        names = groups(con).column("group_name")
        listing = ", ".join(repr(n) for n in names[:10]) if names else "none (ingest with --group, or train with LossdbCallback)"
        raise StoreError(f"no complete runs of group {group!r} in this store", f"groups here: {listing}")
    return result


def sequence_dynamics(con, group: str, *, n: int | None = None, method: str = "aum") -> Result:
    """Per sequence of `group`: confidence, variability, correctness, forgetting, aum, the worst
    word's min_aum / min_confidence / min_correctness and the word itself, the data-map region;
    the `n` most suspect first by `method` (all when n is None)."""
    group_runs(con, group)
    return named(con, "dynamics_sequences", {"group": group, "method": check_method(method),
                                              "n": None if n is None else check_n(n)})


def word_dynamics(con, group: str, *, seq_id: int | None = None) -> Result:
    """Per labelled word of `group` (of one sequence, with `seq_id`): confidence, variability,
    correctness, forgetting, aum and the predictions in step order."""
    group_runs(con, group)
    result = named(con, "dynamics_words", {"group": group, "seq_id": seq_id})
    if seq_id is not None and not result.rows:
        raise StoreError(f"group {group!r} has no labelled words in sequence {seq_id}",
                         "seq_id is the row's index in the source")
    return result


def rank(con, group: str, n: int, *, method: str = "aum") -> Result:
    """The `n` sequences of `group` most likely mislabelled by `method` (METHODS)."""
    return sequence_dynamics(con, group, n=check_n(n), method=method)


def datamap(con, group: str) -> Result:
    """The data map's points: per sequence seq_id, variability (x), confidence (y),
    correctness (colour) and region."""
    return sequence_dynamics(con, group).select(["seq_id", "variability", "confidence", "correctness", "region"])
