"""What replacing a run does to its label versions (reviewed corrections: hours of work).

`ingest --replace` deletes the run's rows and writes new ones. Label versions are word labels
of the run's sequences (stored only where they differ from gold), so they are neither silently
deleted nor silently kept. Replacing a run that has any needs `label_versions`:

- ``"drop"``: they go with the old rows (the summary names them);
- ``"keep"``: they stay, provided every sequence of the old run is in the new one with the
  same words and gold labels (re-scoring the same data with another model); otherwise the
  commit is refused, naming the first sequence that differs, and the store is unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from lossdb import sql
from lossdb.errors import StoreError, UsageError

POLICIES = ("keep", "drop")
VERSION_TABLES = ("sequence_labels", "label_versions")


@dataclass
class Replaced:
    """What a commit did to an earlier run of the same name."""

    replaced: bool = False
    versions: list[str] = field(default_factory=list)
    kept: bool = False

    def line(self) -> str:
        if not self.replaced:
            return ""
        if not self.versions:
            return "; replaced the earlier run"
        names = ", ".join(repr(v) for v in self.versions)
        return (f"; replaced the earlier run, {'kept' if self.kept else 'dropped'} its label "
                f"version{'s' if len(self.versions) > 1 else ''} {names}")


def check_policy(label_versions: str | None) -> str | None:
    if label_versions is not None and label_versions not in POLICIES:
        raise UsageError(f"label_versions must be keep or drop, not {label_versions!r}",
                         "keep: carry them over to the new run (same words); drop: delete them with the run",
                         parameter="label_versions")
    return label_versions


def versions(con, run: str) -> list[str]:
    return [row[0] for row in con.execute(sql.read("run_versions"), {"run": run}).fetchall()]


def check(con, run: str, label_versions: str | None, *, hint: str | None = None) -> list[str]:
    """The run's label versions; refused when it has some and no policy says what to do with them."""
    found = versions(con, run)
    if found and label_versions is None:
        names = ", ".join(repr(v) for v in found)
        raise StoreError(f"run {run!r} has label version{'s' if len(found) > 1 else ''} {names}, which replacing it "
                         "would delete",
                         hint or "pass --label-versions drop to delete them with the run, or --label-versions keep "
                                 "to carry them over (the new run must have the same sequences: words and tags)")
    return found


def tables_to_clear(run_tables: tuple[str, ...], keep: bool) -> tuple[str, ...]:
    return tuple(t for t in run_tables if not (keep and t in VERSION_TABLES))


def hold(con, run: str) -> None:
    """Before the old rows go: remember their words and gold labels (for `check_kept`)."""
    con.execute(sql.read("replace_hold_sequences"), {"run": run})


def check_kept(con, run: str, kept: list[str]) -> None:
    """After the new rows are in: refuse (the caller's transaction rolls back) unless every old
    sequence is there with the same words and gold labels."""
    row = con.execute(sql.read("replace_changed_sequence"), {"run": run}).fetchone()
    con.execute(sql.read("replace_release_sequences"))
    refuse_changed(run, kept, row)


def refuse_changed(run: str, kept: list[str], row: tuple | None) -> None:
    """Refuse keeping `kept` where `row` (replace_changed_sequence's, or replace_precheck's
    before the scoring) names a sequence that the new run lacks or changes."""
    if row is None:
        return
    seq_id, missing, other_words = row
    what = "is not in the new data" if missing else "has other words" if other_words else "has other gold tags"
    names = ", ".join(repr(v) for v in kept)
    raise StoreError(f"run {run!r}: sequence {seq_id} {what}, so its label version{'s' if len(kept) > 1 else ''} "
                     f"{names} cannot be kept",
                     "pass --label-versions drop to delete them, or ingest under another --run name")
