"""The core questions: which runs are stored, the worst sequences, one sequence's rows."""
from __future__ import annotations

from lossdb.errors import StoreError, UsageError

from .result import Result, check_reads_only, execute, named

RANKINGS = ("total_loss", "mean_loss", "label_quality")


def resolve_run(con, run: str | None) -> str:
    """The run a query reads: `run` if it is complete, else the newest complete run."""
    run_id, found = named(con, "resolve_run", {"run": run}).rows[0]
    if found:
        return run_id
    names = [r[0] for r in named(con, "runs").rows]
    if run is None:
        raise StoreError("the store has no complete run yet", "run `lossdb ingest` first")
    listing = ", ".join(repr(n) for n in names[:10]) + (" ..." if len(names) > 10 else "")
    raise StoreError(f"no complete run named {run!r} in this store", f"choose one of: {listing} (see `lossdb runs`)")


def check_n(n: int, what: str = "--n") -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise UsageError(f"{what} must be a whole number of at least 1, not {n!r}", f"e.g. {what} 3")
    return n


def check_ranking(by: str) -> str:
    if by not in RANKINGS:
        raise UsageError(f"cannot rank by {by!r}", f"choose one of {', '.join(RANKINGS)}")
    return by


def runs(con) -> Result:
    """Every complete run, newest first."""
    return named(con, "runs")


def top(con, n: int = 3, *, run: str | None = None, by: str = "total_loss", labels: str | None = None) -> Result:
    """The n worst sequences, each with its ordered tokens / labels / preds / losses lists.

    `labels` judges them against a label version (lossdb import-labels): losses, ranking and
    label quality are recomputed from the stored probabilities; None or 'gold' reads the
    aggregates stored at ingest."""
    params = {"n": check_n(n), "run": resolve_run(con, run), "by": check_ranking(by)}
    if labels is None or labels == "gold":
        return named(con, "top", params)
    from .versions import check_labels

    return named(con, "versions_top", {**params, "labels": check_labels(con, params["run"], labels)})


def sequence_rows(con, seq_id: int, *, run: str | None = None) -> Result:
    """One sequence's token rows in order."""
    run_id = resolve_run(con, run)
    result = named(con, "sequence_rows", {"run": run_id, "seq_id": seq_id})
    if not result.rows:
        raise StoreError(f"run {run_id!r} has no sequence {seq_id}", "seq_id is the row's index in the source")
    return result


def adhoc(con, text: str, params: dict | list | None = None, *, write: bool = False) -> Result:
    """Any SQL the user types; values in `params` are bound, never pasted into the text.

    Unless `write`, every statement must only read (checked before any runs): opening the
    store read-only alone would still let COPY, EXPORT or ATTACH write files and databases."""
    if not text or not text.strip():
        raise UsageError("the SQL statement is empty", 'e.g. lossdb sql "SELECT * FROM sequence_losses LIMIT 5"')
    if not write:
        check_reads_only(con, text)
    return execute(con, text, params)
