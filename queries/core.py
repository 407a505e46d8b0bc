"""The core questions: which runs are stored, the worst sequences, one sequence's rows; and
the checks every question shares (the run, the label version, n, the ranking)."""
from __future__ import annotations

import json
import numbers
import shlex

import duckdb

from lossdb.errors import QueryError, StoreError, UsageError

from . import db
from .result import Result, check_reads_only, execute, named, split_statements

RANKINGS = ("total_loss", "mean_loss", "label_quality")
GOLD = "gold"  # the source's own labels: the label version every run has


def resolve_run(con, run: str | None, parameter: str = "run") -> str:
    """The run a query reads: `run` if it is complete, else the newest complete run.
    `parameter`: the caller's argument that named it, for the error."""
    resolved = named(con, "resolve_run", {"run": run}).one()
    if resolved["found"]:
        return resolved["run_id"]
    names = named(con, "runs").column("run_id")
    if run is None:
        raise StoreError("the store has no complete run yet", "run `lossdb ingest` first")
    listing = ", ".join(repr(n) for n in names[:10]) + (" ..." if len(names) > 10 else "")
    raise StoreError(f"no complete run named {run!r} in this store", f"choose one of: {listing} (see `lossdb runs`)",
                     parameter=parameter)


def label_names(con, run_id: str) -> list[str]:
    """The label names of run_id, in the model's label-index order."""
    return list(named(con, "run_label_names", {"run": run_id}).value("label_names"))


def version_names(con, run_id: str) -> list[str]:
    """The label versions of run_id, gold first."""
    return named(con, "versions_list", {"run": run_id}).column("version")


def check_labels(con, run_id: str, labels: str | None, parameter: str = "labels", run_parameter: str = "run",
                 *, paired: bool = False) -> str:
    """`labels` if run_id has that version ('gold' always), else a StoreError naming the versions
    (and `parameter`, the caller's name for the version it was given), or the runs that have it
    (and `run_parameter`, the caller's name for the run). `paired`: run_id is one of two runs the
    caller judges together (compare), so naming the other run is no fix; importing it is."""
    if labels is None or labels == GOLD:
        return GOLD
    if named(con, "versions_exists", {"run": run_id, "version": labels}).value("found"):
        return labels
    elsewhere = named(con, "version_runs", {"version": labels}).column("run_id")
    if elsewhere:  # the version is another run's: the fix is that run (--run), not another name
        shown = ", ".join(repr(r) for r in elsewhere[:3])
        message = (f"run {run_id!r} has no label version {labels!r}; run{'s' if len(elsewhere) > 1 else ''} "
                   f"{shown} {'have' if len(elsewhere) > 1 else 'has'} it")
        if paired:
            raise StoreError(message, f"import the corrections into run {run_id!r} too "
                             f"(lossdb import-labels FILE --run {shlex.quote(run_id)} --as {shlex.quote(labels)}), "
                             "or compare under gold")
        raise StoreError(message, "name that run", parameter=run_parameter)
    names = version_names(con, run_id)
    if names == [GOLD]:  # nothing to choose from but the source's own labels
        raise StoreError(f"run {run_id!r} has no label version {labels!r}, nor any other (only gold, the source's "
                         "labels)", "import corrections as a version first (lossdb import-labels FILE --as NAME)",
                         parameter=parameter)
    raise StoreError(f"run {run_id!r} has no label version {labels!r}",
                     f"choose one of: {', '.join(repr(n) for n in names)} (see `lossdb labels --run {run_id}`)",
                     parameter=parameter)


def run_labels(con, run: str | None, labels: str | None, parameter: str = "run", *,
               paired: bool = False) -> tuple[str, str]:
    """(run_id, label version) checked: the run complete, the version one it has (`paired`: as
    check_labels)."""
    run_id = resolve_run(con, run, parameter)
    return run_id, check_labels(con, run_id, labels, run_parameter=parameter, paired=paired)


def check_n(n: int, what: str = "n") -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise UsageError(f"{what} must be a whole number of at least 1, not {n!r}", "e.g. 3", parameter=what)
    return n


def check_ranking(by: str) -> str:
    if by not in RANKINGS:
        raise UsageError(f"cannot rank by {by!r}", f"choose one of {', '.join(RANKINGS)}", parameter="by")
    return by


def runs(con) -> Result:
    """Every complete run, newest first. `params` (how it was scored) is a dict: DuckDB hands a
    JSON column over as its text, which `runs --format json` would print as one quoted string."""
    result = named(con, "runs")
    at = result.columns.index("params")
    return Result(result.columns, [row[:at] + (json.loads(row[at]) if row[at] else None,) + row[at + 1:]
                                   for row in result.rows])


def top(con, n: int = 3, *, run: str | None = None, by: str = "total_loss", labels: str = GOLD) -> Result:
    """The n worst sequences, each with its ordered tokens / labels / preds / losses lists.

    `labels` judges them against a label version (lossdb import-labels): losses, ranking and
    label quality are recomputed from the stored probabilities; None or 'gold' reads the
    aggregates stored at ingest."""
    params = {"n": check_n(n), "run": resolve_run(con, run), "by": check_ranking(by)}
    if labels is None or labels == GOLD:
        return named(con, "top", params)
    return named(con, "versions_top", {**params, "labels": check_labels(con, params["run"], labels)})


def whole_seq_id(seq_id) -> int:
    """`seq_id` if it is a whole number (as seq_ids are), else a UsageError."""
    if isinstance(seq_id, bool) or not isinstance(seq_id, numbers.Integral):  # (numpy's integers too)
        raise UsageError(f"seq_id must be a whole number, not {seq_id!r}", "e.g. seq_id=42", parameter="seq_id")
    return int(seq_id)


def check_seq_id(con, run_id: str, seq_id: int) -> int:
    """`seq_id` if run_id has that sequence, else a StoreError."""
    seq_id = whole_seq_id(seq_id)
    if not named(con, "sequence_exists", {"run": run_id, "seq_id": seq_id}).value("found"):
        raise StoreError(f"run {run_id!r} has no sequence {seq_id}", "seq_id is the row's index in the source",
                         parameter="seq_id")
    return seq_id


def sequence_rows(con, seq_id: int, *, run: str | None = None) -> Result:
    """One sequence's token rows in order."""
    run_id = resolve_run(con, run)
    result = named(con, "sequence_rows", {"run": run_id, "seq_id": whole_seq_id(seq_id)})
    if not result.rows:
        raise StoreError(f"run {run_id!r} has no sequence {seq_id}", "seq_id is the row's index in the source",
                         parameter="seq_id")
    return result


def adhoc(con, text: str, params: dict | list | None = None, *, write: bool = False) -> Result:
    """Any SQL the user types; values in `params` are bound, never pasted into the text.

    Unless `write`, every statement must only read (checked before any runs): opening the
    store read-only alone would still let COPY, EXPORT or ATTACH write files and databases."""
    statements = split_statements(con, text) if text and text.strip() else []
    if not statements:  # blank, or only ';' and comments
        raise UsageError("the SQL statement is empty", 'e.g. lossdb sql "SELECT * FROM sequence_losses LIMIT 5"')
    if params and len(statements) > 1:  # DuckDB would run the others first, then refuse
        raise UsageError(f"values bind to one statement, and this SQL has {len(statements)}",
                         "run the statement that takes them on its own", parameter="params")
    if not write:
        check_reads_only(con, text, statements)
        return execute(con, text, params)
    if params:  # bound values: one statement
        result = execute(con, text, params)
        db.note_saved()
        return result
    if len(statements) > 1 and not _runs_its_own_transactions(statements):
        return _one_transaction(con, statements)
    # A script that says BEGIN / COMMIT (or CHECKPOINT, which no transaction may hold): each
    # statement outside its transactions commits on its own, and each commit is counted as it
    # happens, so an error or Ctrl-C part way says what was kept.
    result, explicit, saved, pending = Result([], []), False, 0, 0
    for number, statement in enumerate(statements, 1):
        try:
            result = execute(con, statement.query)
        except QueryError as e:
            if len(statements) > 1:  # which one failed, and what the ones before it left in the store
                kept = f"{saved} that changed the store before it saved" if saved else "nothing saved"
                if explicit and pending:
                    kept += f", its transaction's {pending} rolled back"
                e.message = f"{e.message} (statement {number} of {len(statements)}; {kept})"
            raise
        kind = statement.type.name
        word = statement.query.replace(";", " ").split()[0].upper() if kind == "TRANSACTION" else ""
        changes = kind not in ("SELECT", "TRANSACTION", "EXPLAIN")
        if word in ("BEGIN", "START"):
            explicit, pending = True, 0
        elif word in ("ROLLBACK", "ABORT"):
            explicit, pending = False, 0
        elif explicit and word not in ("COMMIT", "END"):
            pending += changes
        else:  # a statement outside BEGIN commits on its own; COMMIT commits the transaction's
            saved += pending if word else changes
            explicit, pending = False, 0
            db.note_saved()
    return result


def _runs_its_own_transactions(statements) -> bool:
    """The script says BEGIN / COMMIT itself, or CHECKPOINT, which no transaction may hold."""
    return any(s.type.name == "TRANSACTION" or s.query.replace(";", " ").split()[0].upper() in ("CHECKPOINT", "FORCE")
               for s in statements)


def _one_transaction(con, statements) -> Result:
    """A script of several statements as one transaction: all of it is saved, or (an error, or
    Ctrl-C) none of it, as for every other command that writes."""
    result = Result([], [])
    execute(con, "BEGIN TRANSACTION")
    try:
        for number, statement in enumerate(statements, 1):
            try:
                result = execute(con, statement.query)
            except QueryError as e:
                e.message = (f"{e.message} (statement {number} of {len(statements)}; the script runs as one "
                             "transaction, so nothing of it was saved)")
                raise
        execute(con, "COMMIT")
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:  # DuckDB already rolled back a transaction an error aborted
            pass
        raise
    db.note_saved()
    return result


def ranks(con, seq_ids, *, run: str | None = None, by: str = "total_loss") -> Result:
    """Where each of `seq_ids` (one, or several) ranks among every sequence of the run by `by`
    (1 = worst, as `top` ranks them): rank, seq_id, best first. An id the run lacks is an error."""
    run_id = resolve_run(con, run)
    wanted = [seq_ids] if isinstance(seq_ids, int) and not isinstance(seq_ids, bool) else list(seq_ids)
    if any(isinstance(i, bool) or not isinstance(i, int) for i in wanted):
        raise UsageError(f"seq_ids must be whole numbers, not {seq_ids!r}", "e.g. [3, 17] or 3", parameter="seq_ids")
    n = named(con, "versions_run_info", {"run": run_id}).value("n_sequences")
    result = named(con, "sequence_ranks", {"run": run_id, "by": check_ranking(by), "n": max(int(n), 1),
                                           "seq_ids": sorted(set(wanted))})
    missing = sorted(set(wanted) - set(result.column("seq_id")))
    if missing:
        shown = ", ".join(str(i) for i in missing[:5]) + (", ..." if len(missing) > 5 else "")
        raise StoreError(f"run {run_id!r} has no sequence {shown}", "seq_id is the row's index in the source",
                         parameter="seq_ids")
    return result
