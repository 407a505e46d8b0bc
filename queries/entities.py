"""Entity-level evaluation: seqeval's precision / recall / F1 and entity error types.

Words are tagged the book's way: a word's gold tag is its label (under a label version), its
predicted tag the prediction of its first subword; these are the tags the book hands to seqeval.
Entities are decoded from them by the tag grammar, lossdb.queries.tags (seqeval 1.2's rules):
mode ``"default"`` (conlleval's chunks: ill-formed runs such as ``O I-PER`` still make
entities) or ``"strict"`` with a scheme (IOB2 unless told: an entity is a B- tag and the I-
tags of its type that follow it; tags the scheme does not allow are an error, as in seqeval).

Each sequence is decoded on its own (seqeval separates the sequences it is given with an O).
The grammar's rules become lookup tables over the integer tag codes that ingest stores per
sequence (``sequences.label_codes``, ``pred_codes``; TagTables), applied with numpy: a window
sort of every word in SQL (sql/schema/230_entity_spans.sql, ``entity_spans``,
``entity_scores``, ``entity_errors`` for ad-hoc SQL) takes tens of seconds on a million
sequences, this well under one.

Error types (``entity_errors``), decided for every gold entity and every predicted entity that
overlaps none: correct (same words, same type), wrong_type (same words, other type),
wrong_boundary (overlapping prediction of the same type), wrong_type_and_boundary (only
overlapping predictions of other types), missed (no overlapping prediction), spurious (a
prediction overlapping no gold entity).
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from lossdb import sql
from lossdb.errors import StoreError, UsageError

from . import tags
from .core import check_labels, check_n, check_seq_id, label_names, resolve_run
from .result import Result, named, query_error

CATEGORIES = ("correct", "wrong_type", "wrong_boundary", "wrong_type_and_boundary", "missed", "spurious")
ERROR_VIEWS = ("type", "sequence", "entity")
AVERAGES = ("micro avg", "macro avg", "weighted avg")


@dataclass(frozen=True)
class TagTables:
    """The tag grammar (lossdb.queries.tags) as lookup tables over tag codes: 1..K the run's
    label names, K+1 the O that separates sequences (and stands for the words left out because
    both sides tag them O: O starts and continues nothing in any mode or scheme). Code 0 marks
    a word that was not scored; such words are dropped before decoding (it would read as O)."""

    names: list[str]            # the run's label names: code c is names[c - 1]
    types: list[str]            # entity type names, sorted; type ids index this list
    default_type: np.ndarray    # code -> type id (default mode)
    strict_type: np.ndarray     # code -> type id (strict mode)
    starts: np.ndarray          # [prev code, code] -> default-mode chunk starts at code
    ends: np.ndarray            # [code, next code] -> default-mode chunk ends at code
    strict_starts: np.ndarray   # [prev code, code] -> the scheme starts an entity at code
    strict_insides: np.ndarray  # [prev code, code] -> code continues prev's entity
    strict_ends: np.ndarray     # [code, next code] -> an entity ending at code ends well
    strict_ok: np.ndarray       # code -> a prefix the scheme allows
    scheme: tags.Scheme
    stale_possible: bool        # a tag without a type (e.g. a bare 'X') can end a chunk it never started

    @property
    def outside(self) -> int:
        return len(self.default_type) - 1

    @classmethod
    def of(cls, label_names: list[str], scheme: str = tags.DEFAULT_SCHEME) -> "TagTables":
        rules = tags.Scheme.named(scheme)
        names = [tags.OUTSIDE, *label_names, tags.OUTSIDE]
        default = [tags.chunk_parts(t) for t in names]
        strict = [tags.strict_parts(t) for t in names]
        type_names = sorted({t for _, t in default} | {t for _, t in strict})
        type_id = {t: i for i, t in enumerate(type_names)}

        def pairs(rule, parts) -> np.ndarray:  # [code a, code b] -> rule(a, b)
            return np.array([[rule(a, b) for b in parts] for a in parts], dtype=bool).reshape(len(parts), -1)

        return cls(
            names=list(label_names),
            types=type_names,
            default_type=np.array([type_id[t] for _, t in default], dtype=np.int32),
            strict_type=np.array([type_id[t] for _, t in strict], dtype=np.int32),
            starts=pairs(lambda a, b: tags.chunk_start(a[0], b[0], a[1], b[1]), default),
            ends=pairs(lambda a, b: tags.chunk_end(a[0], b[0], a[1], b[1]), default),
            strict_starts=pairs(rules.is_start, strict),
            strict_insides=pairs(rules.is_inside, strict),
            strict_ends=pairs(rules.is_end, strict),
            strict_ok=np.array([rules.allows(p) for p, _ in strict]),
            scheme=rules,
            stale_possible=any(t == "_" and p not in ("O", ".") for p, t in default),
        )


@dataclass
class Spans:
    """Entities of one side, sorted by position. Rows index the decoded word rows (both sides
    share them), so two entities cover the same words exactly when their rows are equal.
    Straight from decode_codes, seq_id holds the batch's sequence indices; placed() makes
    them seq_ids."""

    seq_id: np.ndarray
    start_word: np.ndarray
    end_word: np.ndarray     # exclusive
    type_id: np.ndarray
    first_row: np.ndarray
    last_row: np.ndarray

    def __len__(self) -> int:
        return len(self.seq_id)

    def arrays(self) -> tuple[np.ndarray, ...]:
        return self.seq_id, self.start_word, self.end_word, self.type_id, self.first_row, self.last_row

    def take(self, index: np.ndarray) -> "Spans":
        return Spans(*(a[index] for a in self.arrays()))

    def placed(self, seq_ids: np.ndarray, row_offset: int) -> "Spans":
        """These spans of a batch, with real seq_ids (seq_id held indices into `seq_ids`) and
        rows counted from the batch's first row at `row_offset`."""
        return Spans(seq_ids[self.seq_id], self.start_word, self.end_word, self.type_id,
                     self.first_row.astype(np.int64) + row_offset, self.last_row.astype(np.int64) + row_offset)

    @staticmethod
    def concat(parts: list["Spans"]) -> "Spans":
        if not parts:
            return Spans(*(np.zeros(0, dtype=np.int64) for _ in range(6)))
        return Spans(*(np.concatenate(arrays) for arrays in zip(*(p.arrays() for p in parts))))


@dataclass
class Decoded:
    run_id: str
    labels: str
    mode: str
    types: list[str]
    gold: Spans
    pred: Spans
    n_rows: int = 0          # word rows decoded (entities' rows index them)


def adjacency(seq_id: np.ndarray, word_index: np.ndarray) -> np.ndarray:
    """True where a row is the word right after the previous row's, in the same sequence."""
    adjacent = np.zeros(len(seq_id), dtype=bool)
    adjacent[1:] = (seq_id[1:] == seq_id[:-1]) & (word_index[1:] == word_index[:-1] + 1)
    return adjacent


def decode_codes(seq_id: np.ndarray, word_index: np.ndarray, codes: np.ndarray, tables: TagTables, mode: str,
                 adjacent: np.ndarray | None = None) -> Spans:
    """The entities in one side's tag codes (int32); rows sorted by (seq_id, word_index), a gap
    in word_index standing for O words (`adjacent`: adjacency(seq_id, word_index), if at hand)."""
    n = len(codes)
    if adjacent is None:
        adjacent = adjacency(seq_id, word_index)
    outside = tables.outside
    prev = np.empty(n, dtype=np.int32)
    prev[:1] = outside
    prev[1:] = codes[:-1]
    prev[~adjacent] = outside
    m = len(tables.default_type)  # [code a, code b] tables are read at a * m + b
    if mode == "default":
        following = np.empty(n, dtype=np.int32)
        following[-1:] = outside
        following[:-1] = np.where(adjacent[1:], codes[1:], outside)
        start = tables.starts.ravel()[prev * m + codes]
        end = tables.ends.ravel()[codes * m + following]
        idx = np.arange(n, dtype=np.int32 if n < 2**31 else np.int64)
        begin = np.maximum.accumulate(np.where(start, idx, -1)) if n else idx
        rows = np.flatnonzero(end)
        first = begin[rows]
        start_word = None
        if tables.stale_possible:
            # seqeval carries a chunk start over from an earlier sentence when a chunk ends with
            # no start of its own (only tags without a type can); here a sequence starts its own.
            stale = (first < 0) | (seq_id[np.maximum(first, 0)] != seq_id[rows])
            if stale.any():
                first = np.where(stale, np.searchsorted(seq_id, seq_id[rows]), first)
                start_word = np.where(stale, 0, word_index[first])
        if start_word is None:
            start_word = word_index[first]
        type_id = tables.default_type[codes[rows]]
    else:
        allowed = tables.strict_ok[codes]
        if not allowed.all():
            raise tags.refuse_tag(tables.scheme, tables.names[codes[np.argmin(allowed)] - 1])
        # seqeval's scan (tags.entities), a segment at a time: a segment is a row the one before
        # does not continue, and the rows that continue it. The scan enters every segment at its
        # first row and walks it until the scheme starts an entity, which then runs to the
        # segment's end and counts if it ends well there.
        before = prev * m + codes
        start = tables.strict_starts.ravel()[before]
        unlinked = ~tables.strict_insides.ravel()[before]  # rows that begin a segment
        del before
        segment_starts = np.flatnonzero(unlinked)
        starts = np.flatnonzero(start)
        after_segment = np.cumsum(unlinked, dtype=np.int64)[starts]  # per start: the next segment's index
        first_of_segment = np.ones(len(starts), dtype=bool)
        first_of_segment[1:] = after_segment[1:] != after_segment[:-1]
        first, after_segment = starts[first_of_segment], after_segment[first_of_segment]
        ends_at = np.append(segment_starts, n)  # (rows run to the row before the next segment, or the last)
        rows = ends_at[after_segment] - 1
        following = np.full(len(rows), outside, dtype=np.int32)
        within = rows + 1 < n
        within[within] = adjacent[rows[within] + 1]
        following[within] = codes[rows[within] + 1]
        well = tables.strict_ends.ravel()[codes[rows] * m + following]
        first, rows = first[well], rows[well]
        start_word = word_index[first]
        type_id = tables.strict_type[codes[first]]
    spans = Spans(seq_id[rows], start_word, word_index[rows] + 1, type_id, first, rows)
    if len(first) > 1 and not np.all(first[1:] >= first[:-1]):
        spans = spans.take(np.lexsort((spans.last_row, spans.first_row)))
    return spans


# Sequences decoded at a time. A million sequences decoded in one go spend more time in page
# faults (fresh arrays of tens of MB) than in numpy; batches of a few MB are reused and cached,
# and threads decode them side by side (numpy lets go of the GIL) while DuckDB reads the next.
BATCH_SEQUENCES = 65_536
DECODE_THREADS = min(4, os.cpu_count() or 1)


def _tag_batches(con, run_id: str, labels: str):
    """The run's tag codes (entity_tag_codes), a batch of sequences at a time."""
    try:
        reader = con.sql(sql.read("entity_tag_codes"), params={"run": run_id, "labels": labels}) \
            .to_arrow_reader(BATCH_SEQUENCES)
        for batch in reader:  # DuckDB's errors while it streams reach here as OSError
            if batch.num_rows:
                yield batch
    except (duckdb.Error, OSError) as e:
        raise query_error(e) from e


def _word_rows(batch, run_id: str, labels: str, o_code: int) -> tuple[np.ndarray, ...]:
    """The scored words of a batch of sequences, leaving out those coded `o_code` on both
    sides (the O words: a gap in word_index stands for them): (the batch's seq_ids, and per
    word row: the index of its sequence in them, word_index, label code, pred code). Codes
    index the run's label_names from 1. Rows come a sequence at a time, in word order."""
    seq_type, *list_types = batch.schema.types
    if seq_type != pa.int64() or not all(pa.types.is_list(t) and t.value_type == pa.uint16() for t in list_types):
        raise StoreError(f"run {run_id!r}: the word tag codes read back as {batch.schema.types}",
                         "run `lossdb upgrade` on the store")
    seq_ids = _values(batch.column(0), np.int64)
    label_lists, pred_lists = batch.column(1), batch.column(2)
    if label_lists.null_count or pred_lists.null_count \
            or not label_lists.value_lengths().equals(pred_lists.value_lengths()):
        raise StoreError(f"run {run_id!r} has word labels that do not match its words (labels {labels!r})",
                         "run `lossdb upgrade` on the store, and import label versions with one label per word")
    gold_values = label_lists.flatten()
    gold, pred = _values(gold_values, np.uint16), _values(pred_lists.flatten(), np.uint16)
    if gold_values.null_count:  # a label version's label outside the run's names, on a scored word?
        unknown = np.asarray(gold_values.is_null(), dtype=bool)
        if (unknown & (pred > 0)).any():
            raise StoreError(f"run {run_id!r} has word labels outside its label names (labels {labels!r})",
                             "import label versions with the run's label names")
        gold = np.where(unknown, 0, gold)
    offsets = _values(pred_lists.offsets, np.int32)
    keep = gold != o_code
    keep |= pred != o_code
    keep &= pred > 0
    rows = np.flatnonzero(keep).astype(np.int32)
    seq_index = np.repeat(np.arange(len(seq_ids), dtype=np.int32), np.diff(offsets))[rows]
    word_index = rows - (offsets[seq_index] - offsets[0])
    return seq_ids, seq_index, word_index, gold[rows].astype(np.int32), pred[rows].astype(np.int32)


def _values(array, dtype) -> np.ndarray:
    """A null-free Arrow array of fixed-width values as numpy, without a copy. (pyarrow's own
    to_numpy imports pandas on first use: half a second of a CLI command.)"""
    return np.frombuffer(array.buffers()[1], dtype=dtype)[array.offset:array.offset + len(array)]


def decode(con, run: str | None = None, *, labels: str = "gold", mode: str = "default",
           scheme: str | None = None) -> Decoded:
    """Gold and predicted entities of a run (see the module docstring)."""
    mode = tags.check_mode(mode)
    scheme = tags.chosen_scheme(mode, scheme)
    run_id = resolve_run(con, run)
    labels = check_labels(con, run_id, labels)
    names = label_names(con, run_id)
    tags.check_strict(mode, scheme, names, run_id)
    tables = TagTables.of(names, scheme)
    o_code = names.index("O") + 1 if "O" in names else -1  # (tables.outside is the separator, K+1)

    def decode_batch(batch) -> tuple[np.ndarray, int, list[Spans]]:
        seq_ids, seq_index, word_index, gold, pred = _word_rows(batch, run_id, labels, o_code)
        adjacent = adjacency(seq_index, word_index)
        return seq_ids, len(seq_index), [decode_codes(seq_index, word_index, codes, tables, mode, adjacent)
                                         for codes in (gold, pred)]

    with ThreadPoolExecutor(DECODE_THREADS) as pool:
        batches = list(pool.map(decode_batch, _tag_batches(con, run_id, labels)))
    gold_parts, pred_parts, n_rows = [], [], 0
    for seq_ids, rows, (gold, pred) in batches:  # in the store's order; rows numbered across batches
        gold_parts.append(gold.placed(seq_ids, n_rows))
        pred_parts.append(pred.placed(seq_ids, n_rows))
        n_rows += rows
    return Decoded(run_id, labels, mode, tables.types, Spans.concat(gold_parts), Spans.concat(pred_parts), n_rows)


# --- precision, recall, F1 ------------------------------------------------------------------------


def _disjoint(spans: Spans) -> bool:
    """Whether a side's entities cover separate rows (always, unless tags seqeval reads oddly,
    such as a bare 'X', make entities that overlap)."""
    return len(spans) < 2 or bool(np.all(spans.first_row[1:] > spans.last_row[:-1]))


def _overlapping(a: Spans, b: Spans, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """For each entity of `a`, the range [lo, hi) of the entities of `b` that overlap it, for
    disjoint `b`: from one prefix count over the rows, then lookups per entity."""
    marks = np.zeros(n_rows, dtype=np.int8)
    marks[b.first_row] = 1
    latest = np.cumsum(marks, dtype=np.int32)  # per row: 1 + the last entity of b starting at or before it
    latest -= 1
    at_first = latest[a.first_row]
    lo = at_first + 1
    if len(b):  # the entity of b covering a's first row, if one does, comes first
        lo -= (at_first >= 0) & (b.last_row[np.maximum(at_first, 0)] >= a.first_row)
    hi = latest[a.last_row] + 1
    return lo, np.maximum(hi, lo)


def _overlaps_searched(a: Spans, b: Spans) -> tuple[np.ndarray, np.ndarray]:
    """_overlapping for a `b` whose entities overlap each other: by binary search."""
    lo = np.searchsorted(b.last_row, a.first_row, side="left")
    hi = np.searchsorted(b.first_row, a.last_row, side="right")
    return lo, np.maximum(hi, lo)


def _exact_matches(gold: Spans, pred: Spans, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """For each gold entity, the index of the predicted entity with the same words, else -1.
    For disjoint predictions the first overlapping one (lo, of [lo, hi)) is the only candidate;
    predictions that overlap each other (tags seqeval reads oddly) can share a first row, so
    then the candidate is found by (first row, last row), the order they are sorted in."""
    if not _disjoint(pred):
        width = np.int64(max(int(pred.last_row.max(initial=0)), int(gold.last_row.max(initial=0))) + 1)
        keys = pred.first_row.astype(np.int64) * width + pred.last_row
        lo = np.searchsorted(keys, gold.first_row.astype(np.int64) * width + gold.last_row)
        hi = np.full(len(gold), len(pred))
    found = hi > lo
    safe = np.where(found, lo, 0)
    if len(pred):  # same rows; and the same first word (an entity seqeval starts early can differ)
        found &= (pred.first_row[safe] == gold.first_row) & (pred.last_row[safe] == gold.last_row) \
            & (pred.start_word[safe] == gold.start_word)
    return np.where(found, safe, -1)


def _overlaps(gold: Spans, pred: Spans, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    if _disjoint(pred):
        return _overlapping(gold, pred, n_rows)
    return _overlaps_searched(gold, pred)


def scores_of(decoded: Decoded) -> Result:
    gold, pred, types = decoded.gold, decoded.pred, decoded.types
    match = _exact_matches(gold, pred, *_overlaps(gold, pred, decoded.n_rows))
    correct = (match >= 0) & (pred.type_id[np.maximum(match, 0)] == gold.type_id) if len(pred) else match >= 0
    k = len(types)
    support = np.bincount(gold.type_id, minlength=k)
    n_pred = np.bincount(pred.type_id, minlength=k)
    n_correct = np.bincount(gold.type_id[correct], minlength=k)
    rows = []
    for t in range(k):
        if support[t] or n_pred[t]:
            rows.append((types[t], *tags.scores(support[t], n_pred[t], n_correct[t]),
                         int(support[t]), int(n_pred[t]), int(n_correct[t])))
    total_s, total_p, total_c = int(support.sum()), int(n_pred.sum()), int(n_correct.sum())
    averaged = [("micro avg", *tags.scores(total_s, total_p, total_c), total_s, total_p, total_c)]
    if rows:
        averaged.append(("macro avg", *(float(np.mean([row[i] for row in rows])) for i in (1, 2, 3)),
                         total_s, total_p, total_c))
        weights = np.array([row[4] for row in rows], dtype=float)
        averaged.append(("weighted avg", *(float(np.dot([row[i] for row in rows], weights) / weights.sum())
                                            if weights.sum() else 0.0 for i in (1, 2, 3)),
                         total_s, total_p, total_c))
    else:  # no entity on either side: seqeval's macro average is NaN (undefined), its weighted one 0
        averaged += [("macro avg", None, None, None, 0, 0, 0), ("weighted avg", 0.0, 0.0, 0.0, 0, 0, 0)]
    return Result(["type", "precision", "recall", "f1", "support", "n_pred", "n_correct"], rows + averaged)


def entity_scores(con, *, run: str | None = None, labels: str = "gold", mode: str = "default",
                  scheme: str | None = None) -> Result:
    """Entity-level precision, recall and F1 per type, then micro, macro and weighted averages:
    seqeval's classification_report on the run's word-level tags (mode 'default', or 'strict'
    with `scheme`). support: gold entities; n_pred: predicted; n_correct: exact matches."""
    return scores_of(decode(con, run, labels=labels, mode=mode, scheme=scheme))


# --- error types -------------------------------------------------------------------------------------


@dataclass
class Outcomes:
    """Every gold entity with its category and deciding prediction (-1: none), and the spurious
    predictions."""

    category: np.ndarray      # per gold entity: index into CATEGORIES (0..4)
    matched: np.ndarray       # per gold entity: index of the deciding prediction, or -1
    spurious: np.ndarray      # indices of predicted entities that overlap no gold entity


def _first_of_type(gold: Spans, pred: Spans, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """For each gold entity, the first prediction in [lo, hi) of the gold entity's type, else -1.
    One step per overlapping prediction: almost every entity overlaps one or none."""
    first = np.full(len(gold), -1, dtype=np.int64)
    pending = np.flatnonzero(hi > lo)
    at = lo[pending].astype(np.int64)
    while len(pending):
        same = pred.type_id[at] == gold.type_id[pending]
        first[pending[same]] = at[same]
        at += 1
        left = ~same & (at < hi[pending])
        pending, at = pending[left], at[left]
    return first


def outcomes_of(decoded: Decoded) -> Outcomes:
    gold, pred = decoded.gold, decoded.pred
    lo, hi = _overlaps(gold, pred, decoded.n_rows)
    exact = _exact_matches(gold, pred, lo, hi)
    same_first = _first_of_type(gold, pred, lo, hi)
    category = np.full(len(gold), 4, dtype=np.int8)                      # missed
    matched = np.full(len(gold), -1, dtype=np.int64)
    overlap = hi > lo
    category[overlap], matched[overlap] = 3, lo[overlap]                 # wrong type and boundary
    same = same_first >= 0
    category[same], matched[same] = 2, same_first[same]                  # wrong boundary
    has_exact = exact >= 0
    exact_same = has_exact & (pred.type_id[np.maximum(exact, 0)] == gold.type_id) if len(pred) else has_exact
    retyped = has_exact & ~exact_same
    category[retyped], matched[retyped] = 1, exact[retyped]              # wrong type
    category[exact_same], matched[exact_same] = 0, exact[exact_same]     # correct
    g_lo, g_hi = _overlaps(pred, gold, decoded.n_rows)
    return Outcomes(category, matched, np.flatnonzero(g_hi == g_lo))     # spurious: overlapping no gold


def _error_counts(category: np.ndarray, spurious_types: np.ndarray, gold_types: np.ndarray, k: int) -> np.ndarray:
    """[type, 6 categories] counts."""
    return _count_pairs(np.concatenate([gold_types, spurious_types]),
                        np.concatenate([category.astype(np.int64), np.full(len(spurious_types), 5)]), k)


def _count_pairs(rows: np.ndarray, categories: np.ndarray, n_rows: int) -> np.ndarray:
    """[n_rows, 6] counts of (row, category) pairs."""
    width = len(CATEGORIES)
    flat = np.bincount(rows.astype(np.int64) * width + categories, minlength=n_rows * width)
    return flat.reshape(n_rows, width)


def _by_type(decoded: Decoded, out: Outcomes) -> Result:
    k = len(decoded.types)
    counts = _error_counts(out.category, decoded.pred.type_id[out.spurious], decoded.gold.type_id, k)
    support = np.bincount(decoded.gold.type_id, minlength=k)
    n_pred = np.bincount(decoded.pred.type_id, minlength=k)
    rows = [(decoded.types[t], int(support[t]), int(n_pred[t]), *map(int, counts[t]))
            for t in range(k) if support[t] or n_pred[t]]
    rows.append(("all", int(support.sum()), int(n_pred.sum()), *map(int, counts.sum(axis=0))))
    return Result(["type", "n_gold", "n_pred", *CATEGORIES], rows)


def _texts(con, run_id: str, seq_ids) -> dict[int, list[str]]:
    ids = sorted({int(s) for s in seq_ids})
    if not ids:
        return {}
    found = named(con, "sequence_words", {"run": run_id, "seq_ids": ids})
    return dict(zip(found.column("seq_id"), found.column("words")))


def _by_sequence(con, decoded: Decoded, out: Outcomes, n: int | None) -> Result:
    gold, pred = decoded.gold, decoded.pred
    all_seqs = np.union1d(gold.seq_id, pred.seq_id)
    g_at = np.searchsorted(all_seqs, gold.seq_id)
    p_at = np.searchsorted(all_seqs, pred.seq_id)
    counts = _count_pairs(np.concatenate([g_at, p_at[out.spurious]]),
                          np.concatenate([out.category.astype(np.int64), np.full(len(out.spurious), 5)]),
                          len(all_seqs))
    n_gold = np.bincount(g_at, minlength=len(all_seqs))
    n_pred = np.bincount(p_at, minlength=len(all_seqs))
    n_errors = counts[:, 1:].sum(axis=1)
    order = np.lexsort((all_seqs, -n_errors))
    if n is not None:
        order = order[:n]
    words = _texts(con, decoded.run_id, all_seqs[order])
    rows = [(int(all_seqs[i]), int(n_errors[i]), int(n_gold[i]), int(n_pred[i]), *map(int, counts[i]),
             " ".join(words.get(int(all_seqs[i]), []))) for i in order]
    return Result(["seq_id", "n_errors", "n_gold", "n_pred", *CATEGORIES, "text"], rows)


def _by_entity(con, decoded: Decoded, out: Outcomes, n: int | None, seq_id: int | None,
               category: str | None) -> Result:
    gold, pred, types = decoded.gold, decoded.pred, decoded.types
    # one entry per outcome: (seq_id, position, gold index or -1, pred index or -1, category)
    g_idx = np.arange(len(gold))
    entries_seq = np.concatenate([gold.seq_id, pred.seq_id[out.spurious]])
    entries_pos = np.concatenate([gold.first_row, pred.first_row[out.spurious]])
    entries_gold = np.concatenate([g_idx, np.full(len(out.spurious), -1)])
    entries_pred = np.concatenate([out.matched, out.spurious])
    entries_cat = np.concatenate([out.category.astype(np.int64), np.full(len(out.spurious), 5)])
    keep = np.ones(len(entries_seq), dtype=bool)
    if seq_id is not None:
        keep &= entries_seq == seq_id
    if category is not None:
        keep &= entries_cat == CATEGORIES.index(category)
    chosen = np.flatnonzero(keep)
    chosen = chosen[np.lexsort((entries_pos[chosen], entries_seq[chosen]))]
    if n is not None:
        chosen = chosen[:n]
    words = _texts(con, decoded.run_id, entries_seq[chosen])

    def text(seq: int, start: int, end: int) -> str:
        return " ".join(words.get(seq, [])[start:end])

    rows = []
    for i in chosen:
        seq, g, p = int(entries_seq[i]), int(entries_gold[i]), int(entries_pred[i])
        gold_part = (types[gold.type_id[g]], int(gold.start_word[g]), int(gold.end_word[g]),
                     text(seq, int(gold.start_word[g]), int(gold.end_word[g]))) if g >= 0 else (None,) * 4
        pred_part = (types[pred.type_id[p]], int(pred.start_word[p]), int(pred.end_word[p]),
                     text(seq, int(pred.start_word[p]), int(pred.end_word[p]))) if p >= 0 else (None,) * 4
        rows.append((seq, CATEGORIES[entries_cat[i]], *gold_part, *pred_part))
    return Result(["seq_id", "category", "gold_type", "gold_start", "gold_end", "gold_text",
                   "pred_type", "pred_start", "pred_end", "pred_text"], rows)


def scores_and_errors(con, *, run: str | None = None, labels: str = "gold", mode: str = "default",
                      scheme: str | None = None) -> tuple[Result, Result]:
    """entity_scores and entity_errors(by="type") from one decode (the report shows both)."""
    decoded = decode(con, run, labels=labels, mode=mode, scheme=scheme)
    return scores_of(decoded), _by_type(decoded, outcomes_of(decoded))


def entity_errors(con, *, run: str | None = None, labels: str = "gold", mode: str = "default",
                  scheme: str | None = None, by: str = "type", n: int | None = None,
                  seq_id: int | None = None, category: str | None = None) -> Result:
    """Entity-level error types (see the module docstring), `by`:

    - ``"type"``: counts per entity type and in all (gold type; a spurious one counts under its
      predicted type);
    - ``"sequence"``: counts per sequence, most errors (everything but correct) first;
    - ``"entity"``: one row per gold entity and per spurious prediction, with the words, in
      sequence order; `seq_id` and `category` narrow it.

    `n` keeps the first n rows (sequence and entity views).
    """
    if by not in ERROR_VIEWS:
        raise UsageError(f"cannot list entity errors by {by!r}", f"choose one of {', '.join(ERROR_VIEWS)}")
    if category is not None and category not in CATEGORIES:
        raise UsageError(f"unknown entity error category {category!r}", f"choose one of {', '.join(CATEGORIES)}")
    # an option of one view, given to another, would be ignored: refused with the view it needs
    for name, given, views in (("seq_id", seq_id is not None, ("entity",)), ("category", category is not None, ("entity",)),
                               ("n", n is not None, ("sequence", "entity"))):
        if given and by not in views:
            flag = "--" + name.replace("_", "-")
            wanted = "|".join(views)
            raise UsageError(f"{name} applies to by={' or '.join(repr(v) for v in views)} only",
                             f"pass by={views[-1]!r}, or leave out {name}", parameter=name,
                             cli_message=f"{flag} applies to entities --errors --by {wanted} only",
                             cli_hint=f"pass --by {views[-1]}, or leave out {flag}")
    if n is not None:
        check_n(n)
    if seq_id is not None:
        check_seq_id(con, resolve_run(con, run), seq_id)  # an id the run lacks is no empty table
    decoded = decode(con, run, labels=labels, mode=mode, scheme=scheme)
    out = outcomes_of(decoded)
    if by == "type":
        return _by_type(decoded, out)
    if by == "sequence":
        return _by_sequence(con, decoded, out, n)
    return _by_entity(con, decoded, out, n, seq_id, category)
