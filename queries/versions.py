"""Label versions, and the questions that look across sequences to find label errors.

A label version is one more set of word labels for a run: 'gold' is the source's own
(sequences.labels); every imported version (lossdb import-labels) stores only the sequences
whose labels differ from gold (sequence_labels) plus one label_versions row. Every question
here takes ``labels=`` and is answered from the stored probabilities, never by re-scoring:

- label_versions / diff_labels: what a version changed, per entity;
- consistency: the same surface form annotated with different types, or as an entity in one
  sequence and O in another;
- seen_unseen: metrics and loss for entities whose surface form occurs in a training set
  (another run, or a data file) versus not;
- buckets: metrics by entity length, sequence length and word frequency;
- calibration / reliability: expected calibration error and the reliability table per label;
- decoding / decoding_differences: seqeval's default (lenient, conlleval) and strict (IOB2)
  decoding side by side, and the entities whose verdict differs.

Entity metrics themselves are lossdb.queries.entities (entity_scores: seqeval's report).

Words are scored the book's way: a word's prediction, loss and confidence are those of its
first subword; a word the model never saw (past a truncation) is predicted O.

Entity decoding is the tag grammar's (lossdb.queries.tags: seqeval's default and strict modes);
``entities``, ``entity_types``, ``iob2``, ``MODES`` and ``check_mode`` here are its own.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Iterable, Sequence

from lossdb.errors import InputError, UsageError

from .core import GOLD, check_labels, check_n, label_names, resolve_run
from .result import Result, named
# (entity_types and iob2 too: ingest reads them from here)
from .tags import (DEFAULT_SCHEME, MODES, Span, check_mode, check_scheme, check_strict, chosen_scheme, entities, entity_types,  # noqa: F401
                   iob2, scores)

BUCKET_DIMENSIONS = ("entity_length", "sequence_length", "word_frequency")
CHANGES = ("added", "removed", "retyped", "reshaped", "split", "merged", "retagged")
VERSION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@+-]{0,99}")


def surface(words: Sequence[str], span: Span) -> str:
    return " ".join(words[span[0]:span[1]])


# --- label versions ----------------------------------------------------------------------


def check_version_name(name: str) -> str:
    if name == GOLD:
        raise UsageError("'gold' is the source's own labels and cannot be replaced",
                         "give the imported version another name, e.g. 'reviewed'", parameter="name")
    if not isinstance(name, str) or not VERSION_NAME.fullmatch(name):
        raise UsageError(f"{name!r} is not a usable label version name",
                         "use letters, digits and _ . : @ + - (at most 100), starting with a letter or digit",
                         parameter="name")
    return name


def label_versions(con, *, run: str | None = None) -> Result:
    """The label versions of a run, gold first: when and where from, how many sequences each
    changes, and its entity changes against gold (added, removed, retyped, ...)."""
    run_id = resolve_run(con, run)
    listing = named(con, "versions_list", {"run": run_id})
    columns = ["run_id", *listing.columns, *CHANGES]
    rows = []
    for listed in listing.records():
        if listed["version"] == GOLD:
            changes = [None] * len(CHANGES)
        else:
            counts = Counter(change["change"] for change in _diff_rows(con, run_id, GOLD, listed["version"]))
            changes = [counts.get(c, 0) for c in CHANGES]
        rows.append((run_id, *(listed[c] for c in listing.columns), *changes))
    return Result(columns, rows)


def diff_entities(before: Sequence[str], after: Sequence[str]) -> list[tuple[str, list[Span], list[Span]]]:
    """What changed between two label lists of one sequence, per group of overlapping entities:
    (change, entities before, entities after), change one of added, removed, retyped (same words,
    other type), reshaped (other words), split (one entity became several), merged (several became
    one), or retagged (the tags differ but decode to the same entities, e.g. O I-PER -> O B-PER).

    >>> diff_entities(["B-PER", "I-PER", "O"], ["B-ORG", "I-ORG", "O"])
    [('retyped', [(0, 2, 'PER')], [(0, 2, 'ORG')])]
    """
    old, new = set(entities(before)), set(entities(after))
    gone, came = sorted(old - new), sorted(new - old)
    if not gone and not came:
        return [("retagged", [], [])] if list(before) != list(after) else []
    # connected groups of overlapping entities (old on one side, new on the other)
    nodes = [("old", s) for s in gone] + [("new", s) for s in came]
    parent = list(range(len(nodes)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, (_, a) in enumerate(nodes[:len(gone)]):
        for j, (_, b) in enumerate(nodes[len(gone):], start=len(gone)):
            if a[0] < b[1] and b[0] < a[1]:
                parent[find(i)] = find(j)
    groups: dict[int, tuple[list[Span], list[Span]]] = defaultdict(lambda: ([], []))
    for i, (side, span) in enumerate(nodes):
        groups[find(i)][0 if side == "old" else 1].append(span)
    changes = []
    for olds, news in groups.values():
        olds.sort()
        news.sort()
        if not news:
            kind = "removed"
        elif not olds:
            kind = "added"
        elif len(olds) == 1 and len(news) == 1:
            kind = "retyped" if olds[0][:2] == news[0][:2] else "reshaped"
        elif len(olds) == 1:
            kind = "split"
        elif len(news) == 1:
            kind = "merged"
        else:
            kind = "reshaped"
        changes.append((kind, olds, news))
    changes.sort(key=lambda c: min(s[0] for s in c[1] + c[2]))
    return changes


def _describe(words: Sequence[str], spans: list[Span]) -> str:
    return " + ".join(f"[{t} {surface(words, s)}] {s[0]}:{s[1]}" for s in spans for t in [s[2]])


DIFF_COLUMNS = ["run_id", "seq_id", "change", "before", "after", "text"]


def _diff_rows(con, run_id: str, from_labels: str, to_labels: str) -> list[dict]:
    pair = named(con, "versions_pair", {"run": run_id, "from": from_labels, "to": to_labels})
    rows = []
    for seq in pair.records():
        words = seq["words"]
        for kind, olds, news in diff_entities(seq["from_labels"], seq["to_labels"]):
            rows.append({"run_id": run_id, "seq_id": seq["seq_id"], "change": kind, "before": _describe(words, olds),
                         "after": _describe(words, news), "text": " ".join(words)})
    return rows


def diff_labels(con, *, run: str | None = None, from_labels: str = GOLD, to_labels: str) -> Result:
    """Every entity change from one label version to another, one row per group of overlapping
    entities: run_id, seq_id, change, before, after (as '[TYPE words] start:end', joined with
    ' + ' when several), and the sequence's text."""
    run_id = resolve_run(con, run)
    from_labels = check_labels(con, run_id, from_labels, "from_labels")
    to_labels = check_labels(con, run_id, to_labels, "to_labels")
    return Result.from_records(DIFF_COLUMNS, _diff_rows(con, run_id, from_labels, to_labels))


# --- word rows: what the cross-sequence questions read --------------------------------------


@dataclass
class WordRow:
    seq_id: int
    seq_key: str
    words: list[str]
    gold: list[str]
    labels: list[str]
    preds: list[str]
    losses: list[float | None]
    confidences: list[float | None]


def word_rows(con, run_id: str, labels: str) -> list[WordRow]:
    return [WordRow(**row) for row in named(con, "versions_words", {"run": run_id, "labels": labels}).records()]


def _prepare(con, run: str | None, labels: str | None) -> tuple[str, str]:
    run_id = resolve_run(con, run)
    return run_id, check_labels(con, run_id, labels)


def _mean(values: Iterable[float | None]) -> float | None:
    kept = [float(v) for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


# --- consistency -----------------------------------------------------------------------


def consistency(con, *, run: str | None = None, labels: str = GOLD, examples: int = 3, n: int | None = None,
                min_count: int = 2) -> Result:
    """Surface forms annotated inconsistently: the same words labelled as entities of different
    types, or as an entity in one sequence and all O in another. One row per surface form with at
    least `min_count` occurrences and more than one reading: surface, n (occurrences), readings
    (e.g. 'LOC 5, O 2'), majority reading, n_minority (occurrences that disagree with it), and up
    to `examples` seq_ids per minority reading. Most disagreement first; the first `n` (None: all)."""
    if n is not None:
        check_n(n)
    if isinstance(examples, bool) or not isinstance(examples, int) or examples < 0:
        raise UsageError(f"examples must be a whole number of 0 or more, not {examples!r}", "e.g. 3",
                         parameter="examples")
    run_id, labels = _prepare(con, run, labels)
    rows = word_rows(con, run_id, labels)
    readings: dict[tuple[str, ...], Counter] = defaultdict(Counter)
    where: dict[tuple[tuple[str, ...], str], list[int]] = defaultdict(list)
    by_first: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for row in rows:
        for start, end, type_ in entities(row.labels):
            form = tuple(row.words[start:end])
            readings[form][type_] += 1
            where[form, type_].append(row.seq_id)
            by_first[form[0]].add(form)
    # occurrences of the same words with every word labelled O
    for row in rows:
        for i, word in enumerate(row.words):
            for form in by_first.get(word, ()):
                end = i + len(form)
                if tuple(row.words[i:end]) == form and all(t == "O" for t in row.labels[i:end]):
                    readings[form]["O"] += 1
                    where[form, "O"].append(row.seq_id)
    out = []
    for form, counter in readings.items():
        total = sum(counter.values())
        if len(counter) < 2 or total < min_count:
            continue
        ranked = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0] == "O", kv[0]))
        majority = ranked[0][0]
        minority = ranked[1:]
        shown = "; ".join(f"{reading}: " + ", ".join(str(s) for s in sorted(set(where[form, reading]))[:examples])
                          for reading, _ in minority)
        out.append({"run_id": run_id, "surface": " ".join(form), "n": total,
                    "readings": ", ".join(f"{r} {c}" for r, c in ranked), "majority": majority,
                    "n_minority": sum(c for _, c in minority), "examples": shown})
    out.sort(key=lambda r: (-r["n_minority"], -r["n"], r["surface"]))
    return Result.from_records(["run_id", "surface", "n", "readings", "majority", "n_minority", "examples"], out[:n])


# --- seen versus unseen ------------------------------------------------------------------


def is_run(con, name) -> bool:
    """Whether `name` is a complete run of this store."""
    return isinstance(name, str) and bool(named(con, "versions_run_info", {"run": name}).rows)


def check_training_set(con, train) -> None:
    """A training set is a complete run's name, or a data file (lossdb.Store.seen_unseen opens one
    as a Source); anything else is an InputError naming both."""
    if isinstance(train, str) and not is_run(con, train):
        raise InputError(f"{train!r} is neither a complete run of this store nor a data file",
                         "give train a run name (see `lossdb runs`) or a .conll/.jsonl/.parquet file",
                         parameter="train",
                         cli_hint="give --train a run name (see `lossdb runs`) or a .conll/.jsonl/.parquet file")


def training_surfaces(con, train, *, label_names: Sequence[str] | None = None) -> tuple[set[str], str]:
    """The entity surface forms of a training set: a complete run of the store (its gold labels),
    or a Source (lossdb.ingest.sources.open_source: a data file). Returns (forms, description)."""
    check_training_set(con, train)
    if isinstance(train, str):
        forms = set()
        for seq in named(con, "versions_run_sequences", {"run": train}).records():
            forms.update(surface(seq["words"], s) for s in entities(seq["labels"]))
        return forms, f"run {train!r}"
    source = train
    names = source.label_names or list(label_names or [])
    forms = set()
    for example in source:
        tags = [names[t] if isinstance(t, int) and 0 <= t < len(names) else str(t) for t in example.tags]
        forms.update(surface(example.words, s) for s in entities(tags))
    return forms, source.description


def seen_unseen(con, *, train, run: str | None = None, labels: str = GOLD, mode: str = "default",
                scheme: str | None = None) -> Result:
    """Entity metrics and loss for entities whose surface form occurs as an entity in the training
    set `train` (a run of this store, or a Source: a data file opened by
    lossdb.ingest.sources.open_source, as Store.seen_unseen does) versus not. Gold entities give
    recall and mean_loss (over their words), predicted entities precision, each bucketed by its
    own words. Entities as `mode` (and, strict, `scheme`) decodes them."""
    run_id, labels = _prepare(con, run, labels)
    mode = check_mode(mode)
    scheme = chosen_scheme(mode, scheme)
    check_strict(mode, scheme, label_names(con, run_id), run_id)
    info = named(con, "versions_run_info", {"run": run_id}).one()
    forms, _description = training_surfaces(con, train, label_names=info["label_names"])
    buckets = {name: _Bucket() for name in ("seen", "unseen")}
    for row in word_rows(con, run_id, labels):
        gold, pred = set(entities(row.labels, mode, scheme)), set(entities(row.preds, mode, scheme))
        for span in gold:
            bucket = buckets["seen" if surface(row.words, span) in forms else "unseen"]
            bucket.add_gold(span in pred, row.losses[span[0]:span[1]])
        for span in pred:
            buckets["seen" if surface(row.words, span) in forms else "unseen"].add_pred(span in gold)
    return _bucket_result(run_id, [(None, name, buckets[name]) for name in ("seen", "unseen")])


# --- buckets ---------------------------------------------------------------------------


class _Bucket:
    def __init__(self) -> None:
        self.n_gold = self.n_pred = self.n_correct = 0
        self.losses: list[float] = []

    def add_gold(self, found: bool, losses: Iterable[float | None] = ()) -> None:
        self.n_gold += 1
        self.n_correct += found
        self.losses.extend(float(v) for v in losses if v is not None)

    def add_pred(self, correct: bool) -> None:
        self.n_pred += 1


def _bucket_result(run_id: str, entries: list[tuple[str | None, str, _Bucket]]) -> Result:
    """One row per bucket; entries without a dimension (seen / unseen) leave that column out."""
    with_dimension = any(dimension is not None for dimension, _, _ in entries)
    rows = []
    for dimension, name, b in entries:
        rows.append((run_id, *([dimension] if with_dimension else []), name, b.n_gold, b.n_pred, b.n_correct,
                     *scores(b.n_gold, b.n_pred, b.n_correct), _mean(b.losses)))
    return Result(["run_id", *(["dimension"] if with_dimension else []), "bucket", "support", "n_pred", "n_correct",
                   "precision", "recall", "f1", "mean_loss"], rows)


def _length_bucket(n: int) -> str:
    return str(n) if n <= 4 else "5+"


def _sequence_bucket(n: int) -> str:
    for upper, name in ((5, "1-5"), (10, "6-10"), (20, "11-20"), (40, "21-40")):
        if n <= upper:
            return name
    return "41+"


def _frequency_bucket(n: int) -> str:
    for upper, name in ((1, "1"), (5, "2-5"), (20, "6-20"), (100, "21-100")):
        if n <= upper:
            return name
    return "101+"


_BUCKET_ORDER = {
    "entity_length": ["1", "2", "3", "4", "5+"],
    "sequence_length": ["0", "1-5", "6-10", "11-20", "21-40", "41+"],
    "word_frequency": ["1", "2-5", "6-20", "21-100", "101+"],
}


def buckets(con, *, run: str | None = None, labels: str = GOLD, by: str | None = None, mode: str = "default",
            scheme: str | None = None) -> Result:
    """Entity precision, recall, F1 and mean loss by bucket of
    - entity_length: words in the entity (1, 2, 3, 4, 5+);
    - sequence_length: words in the sequence (1-5, 6-10, 11-20, 21-40, 41+);
    - word_frequency: how often the entity's rarest word occurs in the run (1, 2-5, 6-20, 21-100, 101+).
    Gold entities give recall, predicted entities precision, each in the bucket of its own words;
    mean_loss is over the words of the gold entities in the bucket (per word, first subword).
    Entities as `mode` (and, strict, `scheme`) decodes them."""
    run_id, labels = _prepare(con, run, labels)
    mode = check_mode(mode)
    scheme = chosen_scheme(mode, scheme)
    check_strict(mode, scheme, label_names(con, run_id), run_id)
    dimensions = BUCKET_DIMENSIONS if by is None else (by,)
    for d in dimensions:
        if d not in BUCKET_DIMENSIONS:
            raise UsageError(f"cannot bucket by {d!r}", f"choose one of {', '.join(BUCKET_DIMENSIONS)}", parameter="by")
    rows = word_rows(con, run_id, labels)
    frequency = Counter(word for row in rows for word in row.words)
    table: dict[tuple[str, str], _Bucket] = defaultdict(_Bucket)

    def keys(row: WordRow, span: Span) -> list[tuple[str, str]]:
        out = []
        for d in dimensions:
            if d == "entity_length":
                out.append((d, _length_bucket(span[1] - span[0])))
            elif d == "sequence_length":
                out.append((d, _sequence_bucket(len(row.words)) if row.words else "0"))
            else:
                out.append((d, _frequency_bucket(min(frequency[w] for w in row.words[span[0]:span[1]]))))
        return out

    for row in rows:
        gold, pred = set(entities(row.labels, mode, scheme)), set(entities(row.preds, mode, scheme))
        for span in gold:
            for key in keys(row, span):
                table[key].add_gold(span in pred, row.losses[span[0]:span[1]])
        for span in pred:
            for key in keys(row, span):
                table[key].add_pred(span in gold)
    entries = [(d, name, table[d, name]) for d in dimensions for name in _BUCKET_ORDER[d] if (d, name) in table]
    return _bucket_result(run_id, entries)


# --- calibration -----------------------------------------------------------------------


def _check_bins(bins: int) -> int:
    if isinstance(bins, bool) or not isinstance(bins, int) or not 1 <= bins <= 1000:
        raise UsageError(f"bins must be a whole number from 1 to 1000, not {bins!r}", "e.g. 10", parameter="bins")
    return bins


def calibration(con, *, run: str | None = None, labels: str = GOLD, bins: int = 10) -> Result:
    """Per predicted label and '(all)': labelled tokens, mean confidence (the probability of the
    predicted label), accuracy against version `labels`, expected calibration error over `bins`
    equal-width bins, and the largest gap of one bin."""
    run_id, labels = _prepare(con, run, labels)
    result = named(con, "versions_calibration", {"run": run_id, "labels": labels, "bins": _check_bins(bins)})
    return Result(["run_id", *result.columns], [(run_id, *row) for row in result.rows])


def reliability(con, *, run: str | None = None, labels: str = GOLD, bins: int = 10, label: str | None = None) -> Result:
    """The reliability table behind `calibration`: per predicted label and confidence bin, tokens,
    mean confidence and accuracy (empty bins are left out). `label` keeps one label ('(all)' too)."""
    run_id, labels = _prepare(con, run, labels)
    result = named(con, "versions_reliability", {"run": run_id, "labels": labels, "bins": _check_bins(bins)})
    rows = [(run_id, *row) for row, name in zip(result.rows, result.column("label")) if label is None or name == label]
    if label is not None and not rows:
        present = sorted(set(result.column("label")))
        raise UsageError(f"no token is predicted as {label!r}", f"choose one of {', '.join(present)}", parameter="label")
    return Result(["run_id", *result.columns], rows)


# --- lenient versus strict decoding ---------------------------------------------------------


def decoding(con, *, run: str | None = None, labels: str = GOLD, scheme: str | None = None) -> Result:
    """Entity metrics under seqeval's default (lenient, conlleval) and strict (`scheme`, IOB2
    unless told) decoding side by side, per type and 'micro avg': support (gold entities),
    predicted entities, precision, recall and F1 under each
    (lossdb.queries.entities.entity_scores, once per mode)."""
    from .entities import entity_scores  # numpy loads here, not for every command

    run_id, labels = _prepare(con, run, labels)
    scores = {mode: {row["type"]: row for row in entity_scores(con, run=run_id, labels=labels, mode=mode,
                                                                scheme=scheme if mode == "strict" else None).records()}
              for mode in MODES}
    types = sorted({t for mode in MODES for t in scores[mode] if not t.endswith(" avg")})
    measures = {"support": 0, "n_pred": 0, "precision": 0.0, "recall": 0.0, "f1": 0.0}  # and their value when absent
    columns = ["run_id", "type", *(f"{name}_{mode}" for name in measures for mode in MODES)]
    out = []
    for type_ in [*types, "micro avg"]:
        line = {"run_id": run_id, "type": type_}
        for name, absent in measures.items():
            for mode in MODES:
                row = scores[mode].get(type_)
                line[f"{name}_{mode}"] = row[name] if row else absent
        out.append(line)
    return Result.from_records(columns, out)


def decoding_differences(con, *, run: str | None = None, labels: str = GOLD, scheme: str | None = None) -> Result:
    """The entities whose verdict differs between default (lenient) and strict (`scheme`)
    decoding: one row per entity (side 'gold' or 'pred'), with its verdict under each: correct /
    wrong (found, but the other side has no identical entity) / none (not an entity under that
    decoding)."""
    run_id, labels = _prepare(con, run, labels)
    scheme = chosen_scheme("strict", scheme)
    check_strict("strict", scheme, label_names(con, run_id), run_id)
    out = []
    for row in word_rows(con, run_id, labels):
        decoded = {mode: (set(entities(row.labels, mode, scheme)), set(entities(row.preds, mode, scheme)))
                   for mode in MODES}
        for side, index in (("gold", 0), ("pred", 1)):
            every = decoded["default"][index] | decoded["strict"][index]
            for span in sorted(every):
                verdicts = []
                for mode in MODES:
                    mine, other = decoded[mode][index], decoded[mode][1 - index]
                    verdicts.append("none" if span not in mine else "correct" if span in other else "wrong")
                if verdicts[0] != verdicts[1]:
                    tags = (row.labels if side == "gold" else row.preds)[span[0]:span[1]]
                    out.append((run_id, row.seq_id, side, span[2], surface(row.words, span), span[0], span[1],
                                " ".join(tags), verdicts[0], verdicts[1]))
    return Result(["run_id", "seq_id", "side", "type", "surface", "start_word", "end_word", "tags",
                   "default", "strict"], out)

