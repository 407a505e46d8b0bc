"""What the report, the plots and the printed tables show besides the analysis tables: the
book's view of a sequence, the per-token details of chosen sequences (words, word indices, top
class probabilities, entity spans) and the histogram of token losses."""
from __future__ import annotations

from lossdb.errors import UsageError

from .core import GOLD, run_labels
from .result import Result, named


BOOK_LISTS = ("tokens", "labels", "preds", "losses")


def book_positions(values) -> list:
    """One per-position list as the book shows it: the first position, the tokenizer's leading
    special token, dropped."""
    return list(values or [])[1:]


def book_view(record: dict) -> dict[str, list]:
    """The aligned lists of a sequence (a `top` record) as the book shows them (book_positions);
    losses as floats."""
    view = {name: book_positions(record[name]) for name in BOOK_LISTS}
    view["losses"] = [float(x) for x in view["losses"]]
    return view


def loss_scale(records) -> float:
    """The highest loss the book's view of `records` shows (0.0 for none): what shading is relative to."""
    return max((loss for r in records for loss in book_view(r)["losses"]), default=0.0)


def _ids(seq_ids) -> list[int]:
    return sorted({int(i) for i in seq_ids})


def sequence_details(con, seq_ids, *, run: str | None = None, labels: str = GOLD) -> Result:
    """Per sequence of `seq_ids`: words, n_labelled, n_errors (judged against `labels`), and per
    token position the word index and the three most probable labels ({'label', 'p'} structs),
    in position order."""
    run_id, labels = run_labels(con, run, labels)
    return named(con, "sequence_details", {"run": run_id, "labels": labels, "seq_ids": _ids(seq_ids)})


def sequence_spans(con, seq_ids, *, run: str | None = None, labels: str = GOLD) -> Result:
    """The entities of `seq_ids` under `labels` and as predicted (entity_spans: seqeval's default
    decoding): seq_id, side ('gold' or 'pred'), type, start_word, end_word (exclusive)."""
    run_id, labels = run_labels(con, run, labels)
    return named(con, "sequence_spans", {"run": run_id, "labels": labels, "seq_ids": _ids(seq_ids)})


def loss_histogram(con, *, run: str | None = None, bins: int = 40, labels: str = GOLD) -> Result:
    """The losses of the run's labelled tokens (judged against `labels`) in `bins` equal-width
    bins from 0 to the highest loss: bin, lo, hi, n_correct (pred = label), n_wrong."""
    if isinstance(bins, bool) or not isinstance(bins, int) or not 1 <= bins <= 1000:
        raise UsageError(f"bins must be a whole number from 1 to 1000, not {bins!r}", "e.g. bins=40", parameter="bins")
    run_id, labels = run_labels(con, run, labels)
    return named(con, "loss_histogram", {"run": run_id, "labels": labels, "bins": bins})
