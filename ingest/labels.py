"""Closing the loop: export suspect sequences for review, import the corrected labels as a
label version of the run.

    export_labels(con, "review.json", fmt="label-studio", run="wp")   # top 200 label issues
    import_labels(con, "reviewed.json", name="reviewed", run="wp")    # one transaction

An import is checked whole before anything is written: every sequence must match a sequence
of the run (by position for a whole-run copy without ids, else by seq_id, else seq_key, else
its words) with the same words, every label must be one of the run's labels, and every Label
Studio span must start at a word start, end at a word end, name one of the run's entity types
(not a tag such as B-PER, nor O) and overlap no other span. Any problem refuses the whole import
with one error that lists the first problems (sequence, span text, reason); the store is
unchanged. A version stores only the sequences whose labels differ from gold.
"""
from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from lossdb.errors import InputError, LabelImportError, QueryError, StoreError, UsageError
from lossdb.queries import core
from lossdb.queries import db as store_db
from lossdb.queries import versions
from lossdb.queries.result import named, split_statements
from lossdb.queries.tags import chunk_parts, written
from lossdb.text import counted

from . import label_io
from .formats import ExportSequence, Record
from .pipeline import parse_shard

DEFAULT_EXPORT_N = 200
MAX_PROBLEMS_SHOWN = 5


# --- export ------------------------------------------------------------------------------


@dataclass
class ExportSummary:
    run: str
    labels: str
    format: str
    selection: str
    n_sequences: int
    paths: list[Path]

    def line(self) -> str:
        also = f" (labeling config: {self.paths[1]})" if len(self.paths) > 1 else ""
        return (f"exported {counted(self.n_sequences, 'sequence')} of run {self.run!r} ({self.selection}, labels {self.labels}) "
                f"as {self.format} to {self.paths[0]}{also}")


def select_sequences(con, run_id: str, *, labels: str = core.GOLD, by: str | None = None,
                     n: int | None = None, ids: str | None = None, everything: bool = False,
                     fold: str | None = None) -> tuple[list[int], str]:
    """The seq_ids to export, in order, and a description of the selection: every sequence, the
    seq_ids a read-only query returns (its seq_id column, else its first), the top n by `by`
    (n: DEFAULT_EXPORT_N unless given; by: label_quality unless given), or (`fold` 'i/K', K at
    least 2) every sequence but fold i: the training data of the model that scores fold i
    (`ingest --shard i/K` picks the same seq_id % K == i). Two ways of choosing at once are
    refused, and so is `by` beside a way that does not rank."""
    ways = {"everything": "every sequence (everything)", "ids": "an ids query (ids)", "fold": "a fold (fold)",
            "n": "the top n (n)"}
    chosen_by = [name for name, given in (("everything", everything), ("ids", bool(ids)), ("fold", fold is not None),
                                          ("n", n is not None)) if given]
    if len(chosen_by) > 1:
        flags = {"everything": "--all", "ids": "--ids", "fold": "--fold", "n": "--n"}
        raise UsageError(f"{' and '.join(ways[c] for c in chosen_by)} each choose the sequences to export",
                         "give one of them", parameter=chosen_by[-1],
                         cli_message=f"{' and '.join(flags[c] for c in chosen_by)} each choose the sequences to export",
                         cli_hint=f"give one of {', '.join(flags[c] for c in chosen_by)}")
    if by is not None and chosen_by and chosen_by[0] != "n":  # (it would be ignored)
        flag = {"everything": "--all", "ids": "--ids", "fold": "--fold"}[chosen_by[0]]
        raise UsageError(f"by ranks the top n, and {chosen_by[0]} chooses the sequences without ranking",
                         f"leave out by, or {chosen_by[0]}", parameter="by",
                         cli_message=f"--by ranks the top --n, and {flag} chooses the sequences without ranking",
                         cli_hint=f"leave out --by, or {flag}")
    if fold is not None:
        index, count = parse_shard(fold, "fold")
        if count < 2:
            raise UsageError(f"fold {fold} leaves no training data (every sequence is in fold {index})",
                             "split into at least 2 folds, e.g. 0/5", parameter="fold")
        kept = [seq_id for seq_id in named(con, "export_all", {"run": run_id}).column("seq_id") if seq_id % count != index]
        return kept, f"every sequence but fold {index}/{count}"
    if everything:
        return named(con, "export_all", {"run": run_id}).column("seq_id"), "every sequence"
    if ids:
        return _query_ids(con, run_id, ids), "the sequences of the ids query"
    n = DEFAULT_EXPORT_N if n is None else n
    by = "label_quality" if by is None else by
    core.check_n(n)
    core.check_ranking(by)
    chosen = named(con, "export_ranked", {"run": run_id, "labels": labels, "n": n, "by": by}).column("seq_id")
    order = "lowest label_quality" if by == "label_quality" else f"highest {by}"
    return chosen, f"top {n} by {order}"


def _query_ids(con, run_id: str, text: str) -> list[int]:
    """Run the user's query in a transaction that is always rolled back: it can read, never change."""
    con.execute("BEGIN TRANSACTION")
    try:
        try:
            core.check_reads_only(con, text)
        except QueryError as e:  # its hint is `lossdb sql`'s (--write), which export has not
            raise UsageError(f"the ids query must only read: {e.message}", "select seq_ids, e.g. "
                             '"SELECT seq_id FROM sequence_losses WHERE n_errors > 3"', parameter="ids") from e
        statements = split_statements(con, text) if text.strip() else []
        if len(statements) > 1:  # (only the last one's rows were used)
            raise UsageError(f"the ids query holds {len(statements)} statements", "give one query that selects seq_ids",
                             parameter="ids")
        result = core.adhoc(con, text)
    finally:
        con.execute("ROLLBACK")
    if not result.columns:
        raise UsageError("the ids query returns no rows", 'e.g. "SELECT seq_id FROM sequence_losses WHERE n_errors > 3"',
                         parameter="ids")
    # the seq_id column, else the first: a query of bare ids names its column as it likes
    column = "seq_id" if "seq_id" in result.columns else result.columns[0]
    ids: dict[int, None] = {}
    for value in result.column(column):
        if isinstance(value, bool) or not isinstance(value, int):
            shown = "NULL" if value is None else repr(value) if isinstance(value, str) else str(value)
            raise UsageError(f"the ids query returned {shown} where a seq_id belongs",
                             "select the seq_id column (whole numbers)", parameter="ids")
        ids.setdefault(value, None)
    if not ids:  # an empty review file is no one's intent
        raise UsageError("the ids query selects no sequence", 'check its WHERE, e.g. "SELECT seq_id FROM '
                         'sequence_losses WHERE n_errors > 3"', parameter="ids")
    known = set(named(con, "export_all", {"run": run_id}).column("seq_id"))
    missing = [i for i in ids if i not in known]
    if missing:
        shown = ", ".join(str(i) for i in missing[:10]) + (" ..." if len(missing) > 10 else "")
        raise UsageError(f"run {run_id!r} has no sequence{'s' if len(missing) > 1 else ''} {shown}",
                         "select seq_ids of this run (filter the ids query by run_id)", parameter="ids")
    return list(ids)


def export_labels(con, out: str | os.PathLike, *, fmt: str | None = None, run: str | None = None, labels: str | None = None,
                  by: str | None = None, n: int | None = None, ids: str | None = None,
                  everything: bool = False, force: bool = False, fold: str | None = None) -> ExportSummary:
    """Write the selected sequences of a run (default: the top `n` label issues, lowest label
    quality first) with the labels of version `labels` (gold by default) to `out` in `fmt`
    (None: the format `out`'s suffix names, else label-studio)."""
    fmt = label_io.export_format(out, fmt)
    run_id = core.resolve_run(con, run)
    labels = core.check_labels(con, run_id, labels)
    chosen, selection = select_sequences(con, run_id, labels=labels, by=by, n=n, ids=ids, everything=everything,
                                         fold=fold)
    info = named(con, "versions_run_info", {"run": run_id}).one()
    label_names, model = list(info["label_names"]), info["model"]
    rows = named(con, "export_sequences", {"run": run_id, "labels": labels, "ids": chosen}).records()
    by_id = {row["seq_id"]: row for row in rows}
    seqs = [ExportSequence(run_id, **by_id[seq_id]) for seq_id in chosen if seq_id in by_id]
    paths = label_io.write_labels(seqs, Path(out), fmt, label_names=label_names, model=model, force=force)
    return ExportSummary(run_id, labels, fmt, selection, len(seqs), paths)


# --- import ------------------------------------------------------------------------------


@dataclass
class ImportSummary:
    run: str
    version: str
    source: str
    format: str
    n_read: int
    n_changed: int
    unannotated: list[str] = field(default_factory=list)
    replaced: bool = False

    def line(self) -> str:
        skipped = f"; {counted(len(self.unannotated), 'task')} without an annotation kept their gold labels" if self.unannotated else ""
        verb = "replaced" if self.replaced else "imported"
        same = ("; note: it changes no label, so `issues --evaluate` has no positives to find in it"
                if not self.n_changed else "")
        return (f"{verb} label version {self.version!r} of run {self.run!r} from {self.source} ({self.format}): "
                f"{counted(self.n_read, 'sequence')} read, {self.n_changed:,} {'differs' if self.n_changed == 1 else 'differ'} "
                f"from gold{skipped}{same}")


@dataclass
class _Stored:
    seq_id: int
    seq_key: str
    words_hash: str
    words: list[str]
    gold: list[str]


def import_labels(con, path: str | os.PathLike, *, name: str, run: str | None = None, fmt: str | None = None,
                  replace: bool = False, words_column: str | None = None, tags_column: str | None = None,
                  id_column: str | None = None) -> ImportSummary:
    """Import the labels in `path` as label version `name` of a run (the connection must be
    read-write). Everything is checked first; then one transaction writes the version. `run`
    defaults to the run the file's rows name (`lossdb export` writes it), else the newest.
    `words_column`, `tags_column` and `id_column` choose JSON Lines/Parquet/dataset columns, as
    for ingest. A file without ids that holds the run's sentences, all of them in the run's
    order, is matched by position; otherwise by seq_id, else seq_key, else its words."""
    versions.check_version_name(name)
    read = label_io.read_labels(path, fmt, words_column=words_column, tags_column=tags_column, id_column=id_column)
    if not read.records and not read.unannotated:
        raise InputError(f"{path} holds no sequences", "pass a file exported by `lossdb export` and corrected")
    # a file `lossdb export` wrote names its run in every row: that run, unless told otherwise
    file_runs = {r.run for r in read.records if r.run is not None}
    named_run = next(iter(file_runs)) if len(file_runs) == 1 else None
    if run is None and len(file_runs) > 1:
        raise UsageError(f"the rows of {Path(path).name} name {len(file_runs)} runs "
                         f"({', '.join(repr(r) for r in sorted(file_runs))})",
                         "import each run's rows from a file of their own, or name the run to import them all into",
                         parameter="run")
    if run is None and named_run is not None:
        if not named(con, "resolve_run", {"run": named_run}).value("found"):  # (another store's run)
            raise StoreError(f"the rows of {Path(path).name} name run {named_run!r}, which this store does not have",
                             "name the run to import them into", parameter="run")
        run = named_run
    run_id = core.resolve_run(con, run)
    exists = named(con, "versions_exists", {"run": run_id, "version": name}).value("found")
    if exists and not replace:
        raise StoreError(f"run {run_id!r} already has a label version {name!r}",
                         "choose another name, or replace it", parameter="replace")
    label_names = list(named(con, "versions_run_info", {"run": run_id}).rows[0][1])
    stored = [_Stored(*row) for row in named(con, "versions_run_sequences", {"run": run_id}).rows]
    labels, problems = _resolve(read.records, stored, run_id, label_names, read.label_names)
    if problems:
        shown = "; ".join(problems[:MAX_PROBLEMS_SHOWN])
        more = f"; and {len(problems) - MAX_PROBLEMS_SHOWN} more" if len(problems) > MAX_PROBLEMS_SHOWN else ""
        # a file without ids that was meant as a copy of the whole run: why it was not matched by
        # position comes first, since the problems of matching by words follow from it
        why = _not_in_order(read.records, stored, run_id)
        if named_run is not None and named_run != run_id:
            hint = f"its rows come from run {named_run!r}: import it into that run (the store is unchanged)"
        elif named_run is None and run is None and (holder := _run_with_words(con, read.records, run_id)):
            hint = f"run {holder!r} holds every sentence of it: import it into that run (the store is unchanged)"
        else:
            hint = ""
        raise LabelImportError(
            f"cannot import {Path(path).name}: {why + '; ' if why else ''}"
            f"{counted(len(problems), 'problem')}, nothing imported: {shown}{more}",
            hint or f"fix {'them' if len(problems) > 1 else 'it'} in the file and import again (the store is unchanged)",
            problems,
            parameter="run" if hint else None)
    gold = {s.seq_id: s.gold for s in stored}
    changed = sorted((seq_id, tags) for seq_id, tags in labels.items() if tags != gold[seq_id])
    _write_version(con, run_id, name, str(path), changed, replace=replace)
    return ImportSummary(run_id, name, str(path), read.format, len(labels), len(changed), read.unannotated, bool(exists))


def delete_label_version(con, name: str, *, run: str | None = None) -> str:
    """Delete label version `name` of a run (its word labels and stored scores too), in one
    transaction; returns the run's id. Gold is the source's and cannot go."""
    run_id = core.resolve_run(con, run)
    if name == core.GOLD:
        raise UsageError("gold is the source's labels, not a version that can be deleted",
                         "name a label version (see `lossdb labels`)", parameter="name")
    core.check_labels(con, run_id, name, "name")
    params = {"run": run_id, "version": name}
    with store_db.transaction(con):
        named(con, "versions_delete_labels", params)
        named(con, "versions_delete_version", params)
        named(con, "delete_version_quality", params)
    return run_id


def _run_with_words(con, records: Sequence[Record], run_id: str) -> str | None:
    """Another run that holds every sentence of the file, where run `run_id` does not."""
    from .score_steps import words_hash

    hashes = sorted({words_hash(r.words) for r in records if r.words is not None})
    if not hashes:
        return None
    found = named(con, "runs_with_words", {"hashes": hashes}).records()
    best = next((f["run_id"] for f in found if f["n_found"] == len(hashes)), None)
    return best if best != run_id else None


def _write_version(con, run_id: str, name: str, source: str, changed: list[tuple[int, list[str]]], *, replace: bool) -> None:
    import pyarrow as pa

    staged = pa.table({"seq_id": pa.array([c[0] for c in changed], type=pa.int64()),
                       "labels": pa.array([c[1] for c in changed], type=pa.list_(pa.string()))})
    params = {"run": run_id, "version": name}
    with store_db.transaction(con):
        if named(con, "versions_exists", params).value("found") and not replace:
            raise StoreError(f"run {run_id!r} already has a label version {name!r}",
                             "choose another name, or replace it", parameter="replace")
        # rows of the name with no label_versions row (that row deleted by hand) go too, or the
        # version would read them twice over
        named(con, "versions_delete_labels", params)
        named(con, "versions_delete_version", params)
        con.register("import_labels_staged", staged)
        try:
            named(con, "versions_insert_labels", params)
        finally:
            con.unregister("import_labels_staged")
        named(con, "versions_insert_version", {**params, "source": source, "n_changed": len(changed)})
        store_db.score_version(con, run_id, name)  # what queries under the version rank by


def _resolve(records: Sequence[Record], stored: list[_Stored], run_id: str, label_names: list[str],
             file_label_names: list[str] | None = None) -> tuple[dict[int, list[str]], list[str]]:
    """Each record's sequence and IOB2 word labels; every problem, in file order."""
    in_order = _in_order(records, stored)
    by_id = {s.seq_id: s for s in stored}
    by_key: dict[str, list[_Stored]] = defaultdict(list)
    by_hash: dict[str, list[_Stored]] = defaultdict(list)
    for s in stored:
        by_key[s.seq_key].append(s)
        by_hash[s.words_hash].append(s)
    known = set(label_names)
    labels: dict[int, list[str]] = {}
    seen_at: dict[int, str] = {}
    problems: list[str] = []
    for position, record in enumerate(records):
        if record.problem:
            problems.append(f"{record.where}: {record.problem}")
            continue
        seq, problem = (stored[position], None) if in_order else _match(record, by_id, by_key, by_hash, run_id)
        if problem:
            problems.append(f"{record.where}: {problem}")
            continue
        where = f"{record.where} (seq_id {seq.seq_id})"
        if seq.seq_id in seen_at:
            problems.append(f"{where}: the sequence appears twice (also at {seen_at[seq.seq_id]})")
            continue
        seen_at[seq.seq_id] = record.where
        if record.words is not None and record.words != seq.words:
            problems.append(f"{where}: its words differ from the stored ones ({_first_difference(record.words, seq.words)})")
            continue
        if record.spans is not None:
            text = " ".join(seq.words)
            if record.text is not None and record.text != text:
                problems.append(f"{where}: the task text differs from the stored words joined by spaces")
                continue
            if record.words is None and record.text is None:
                problems.append(f"{where}: the task has neither words nor text to check")
                continue
            tags, found = _span_labels(seq, record.spans, label_names, record.offsets)
            problems += [f"{where}: {p}" for p in found]
        else:
            tags, found = _word_labels(seq, record, file_label_names or label_names, label_names, known)
            problems += [f"{where}: {p}" for p in found]
        if tags is not None and not found:
            labels[seq.seq_id] = tags
    return labels, problems


def _in_order(records: Sequence[Record], stored: list[_Stored]) -> bool:
    """A corrected copy of the whole scored file: no ids, as many sentences as the run, in the
    run's order, each with its sequence's words. Such a file is matched by position, so that
    sentences the data repeats word for word need no ids."""
    if len(records) != len(stored) or not records:
        return False
    for record, seq in zip(records, stored):
        if record.seq_id is not None or record.id is not None or record.problem:
            return False
        words = record.words if record.words is not None else (record.text.split(" ") if record.text else None)
        if words != seq.words:
            return False
    return True


def _not_in_order(records: Sequence[Record], stored: list[_Stored], run_id: str) -> str | None:
    """For a file with no ids at all, why it is not a copy of the whole run in its order (which
    _in_order would match by position); None for a file with ids."""
    if any(r.seq_id is not None or r.id is not None for r in records):
        return None
    if len(records) != len(stored):
        return (f"not matched by position, since it holds {counted(len(records), 'sentence')} and run {run_id!r} "
                f"{len(stored):,}")
    for record, seq in zip(records, stored):
        if record.problem:
            return None  # that record's problem is reported as it is
        words = record.words if record.words is not None else (record.text.split(" ") if record.text else None)
        if words is None:
            return None
        if words != seq.words:
            return (f"not matched by position, since {record.where} differs from the run's sentence there "
                    f"(seq_id {seq.seq_id}: {_first_difference(words, seq.words)})")
    return None


def _match(record: Record, by_id, by_key, by_hash, run_id: str):
    from .score_steps import words_hash

    if record.seq_id is not None and (record.run is None or record.run == run_id):
        seq = by_id.get(record.seq_id)
        return (seq, None) if seq else (None, f"run {run_id!r} has no sequence with seq_id {record.seq_id}")
    if record.id is not None:
        candidates, how = by_key.get(record.id, []), f"seq_key {record.id!r}"
    elif record.words is not None:
        candidates, how = by_hash.get(words_hash(record.words), []), "its words"
    elif record.text is not None:  # a task of text alone: the words joined by spaces, as export writes it
        candidates, how = by_hash.get(words_hash(record.text.split(" ")), []), "its text"
    else:
        return None, "no seq_id, seq_key, words or text to find its sequence by"
    if not candidates:
        return None, f"no sequence of run {run_id!r} has {how}"
    if len(candidates) > 1:
        ids = ", ".join(str(c.seq_id) for c in candidates[:5])
        return None, (f"{len(candidates)} sequences of run {run_id!r} have {how} (seq_ids {ids}); give its seq_id, "
                      f"or import a copy of the whole run's file in its order")
    return candidates[0], None


def _first_difference(given: list[str], stored: list[str]) -> str:
    if len(given) != len(stored):
        return f"{counted(len(given), 'word')} given, {len(stored):,} stored"
    i = next(k for k, (a, b) in enumerate(zip(given, stored)) if a != b)
    return f"word {i} is {given[i]!r}, stored {stored[i]!r}"


def _word_labels(seq: _Stored, record: Record, names: list[str], label_names: list[str], known: set[str]):
    """`names`: what integer labels mean (the file's ClassLabel, else the run's labels)."""
    given = record.tags
    if given is None:
        return None, ["its labels are not a list"]
    if len(given) != len(seq.words):
        return None, [f"{counted(len(given), 'label')} for {counted(len(seq.words), 'word')}"]
    tags, problems = [], []
    for i, tag in enumerate(given):
        if isinstance(tag, int) and not isinstance(tag, bool):
            if not 0 <= tag < len(names):
                problems.append(f"label id {tag} of word {i} ({seq.words[i]!r}) is outside 0..{len(names) - 1}")
                continue
            tag = names[tag]
        if tag not in known:
            shown = "null" if tag is None else repr(tag)  # (a JSON null, not Python's None)
            problems.append(f"label {shown} of word {i} ({seq.words[i]!r}) is not one of the run's labels "
                            f"({', '.join(label_names)})")
            continue
        tags.append(tag)
    return (tags if not problems else None), problems


def _span_labels(seq: _Stored, spans: list[label_io.CharSpan], label_names: list[str], units: str):
    text = " ".join(seq.words)
    known = set(label_names)
    types = versions.entity_types(label_names)
    placed: list[tuple[int, int, str, str]] = []  # start, end, type, span text
    problems = []
    for span in spans:
        shown = span.text if isinstance(span.text, str) else (
            text[span.start:span.end] if isinstance(span.start, int) and isinstance(span.end, int) else "?")
        if not (isinstance(span.labels, list) and len(span.labels) == 1 and isinstance(span.labels[0], str)):
            problems.append(f"span {shown!r} must name exactly one label, not {span.labels!r}")
            continue
        type_ = span.labels[0]
        if type_ not in types:
            problems.append(_not_a_type(shown, type_, types, known))
            continue
        words, reason = label_io.span_words(text, seq.words, span, units)
        if words is None:
            problems.append(f"span {shown!r} [{type_}] {reason}")
            continue
        placed.append((words[0], words[1], type_, shown))
    placed.sort()
    for (s1, e1, t1, x1), (s2, e2, t2, x2) in zip(placed, placed[1:]):
        if s2 < e1:
            problems.append(f"span {x2!r} [{t2}] overlaps span {x1!r} [{t1}]")
    if problems:
        return None, problems
    spans_found = {(s, e, t) for s, e, t, _ in placed}
    if spans_found == set(versions.entities(seq.gold)):
        return list(seq.gold), []  # the same entities: keep gold's exact tags
    try:  # in the run's own scheme; the entities gold has, as gold writes them
        return written(len(seq.words), spans_found, label_names, keep=seq.gold), []
    except ValueError as e:
        return None, [str(e)]


def _not_a_type(shown: str, label: str, types: list[str], known: set[str]) -> str:
    """Why a region's label is refused: a region names an entity type, never a tag or O."""
    listed = ", ".join(types)
    if label == "O":
        return (f"span {shown!r} is labelled {label!r}, which marks no entity: delete the region instead "
                f"(the run's entity types: {listed})")
    if label in known:
        return (f"span {shown!r} is labelled with the tag {label!r}, not an entity type: label it "
                f"{chunk_parts(label)[1]!r} (the run's entity types: {listed})")
    return f"span {shown!r} names the unknown label {label!r} (the run's entity types: {listed})"


def import_labels_at(db: str | os.PathLike | None, path: str | os.PathLike, **options) -> ImportSummary:
    """import_labels on the store file `db` (opened read-write just for the import)."""
    db_path = Path(db or store_db.default_path())
    if not db_path.exists():
        raise StoreError(f"no lossdb store at {db_path}", "run `lossdb ingest` first, or point --db at a store")
    con = store_db.connect(db_path, read_only=False)
    try:
        return import_labels(con, path, **options)
    finally:
        con.close()


__all__ = ["export_labels", "import_labels", "import_labels_at", "select_sequences", "ExportSummary", "ImportSummary",
           "LabelImportError"]
