"""Store: the Python API over a lossdb file, for notebooks and scripts.

    >>> import lossdb
    >>> store = lossdb.connect("lossdb.duckdb")      # read-only
    >>> store.top(3)                                 # DataFrame, worst sequences first
    >>> for frame in store.samples(3):               # the book's get_samples tables
    ...     display(frame)                           # (in Jupyter: losses shaded)
    >>> store.report(n=50)                           # the HTML report, inline in Jupyter
"""
from __future__ import annotations

import os
from typing import Iterator

from lossdb import queries
from lossdb.queries import db


class Store:
    """A connection to one store. Read-only unless opened with ``read_only=False``."""

    def __init__(self, path: str | os.PathLike | None = None, *, read_only: bool = True) -> None:
        self.path = str(path or db.default_path())
        self.read_only = read_only
        self.con = db.connect(self.path, read_only=read_only)

    # --- the core questions ------------------------------------------------------------

    def runs(self):
        """Every complete run, newest first."""
        return queries.runs(self.con).df()

    def top(self, n: int = 3, *, run: str | None = None, by: str = "total_loss", labels: str = "gold"):
        """The n worst sequences: rank, run_id, seq_id, total_loss, ... and the aligned
        tokens / labels / preds / losses lists (every position, special tokens included).
        A DataFrame; Jupyter shows it with the losses shaded (``.style_losses()``)."""
        from lossdb.styled import ShadedFrame

        return ShadedFrame.of(queries.top(self.con, n, run=run, by=by, labels=labels).df(), kind="top")

    def samples(self, n: int = 3, *, run: str | None = None, by: str = "total_loss") -> Iterator:
        """One DataFrame per sequence, rows tokens / labels / preds / losses and one column per
        position (the first special token dropped, losses to two decimals), as the book's
        ``get_samples`` yields them."""
        import pandas as pd

        from lossdb.styled import ShadedFrame

        records = queries.top(self.con, n, run=run, by=by).records()
        scale = max((float(x) for row in records for x in row["losses"][1:]), default=0.0)
        for row in records:
            frame = pd.DataFrame({
                "tokens": row["tokens"][1:], "labels": row["labels"][1:], "preds": row["preds"][1:],
                "losses": [f"{loss:.2f}" for loss in row["losses"][1:]],
            }).T
            yield ShadedFrame.of(frame, kind="sample", scale=scale)

    def report(self, n: int = 50, *, run: str | None = None, against: str | None = None):
        """The HTML report of `run` (default: the newest): a Report that Jupyter renders inline;
        ``.save("report.html")`` writes the self-contained file, ``.html`` is its text."""
        from lossdb import report

        return report.build(self.con, run=run, against=against, n=n)

    def plot(self, kind: str, *, run: str | None = None):
        """A matplotlib Figure: 'confusion', 'loss-by-label' or 'loss-hist' (as `lossdb plot`)."""
        from lossdb import plots

        return plots.figure(self.con, kind, run=run)

    def sequence(self, seq_id: int, *, run: str | None = None):
        """One sequence's ordered token rows."""
        return queries.sequence_rows(self.con, seq_id, run=run).df()

    def sql(self, text: str, params: dict | list | None = None):
        """Ad-hoc SQL (values bound from `params`) as a DataFrame."""
        return queries.adhoc(self.con, text, params).df()

    # --- label versions: export for review, import corrections, compare -------------------
    # Every question takes labels= (a label version; default gold); `lossdb.queries.top(store.con,
    # n, labels=...)` ranks against one.

    def export(self, out: str | os.PathLike, *, to: str = "label-studio", run: str | None = None,
               labels: str | None = None, by: str = "label_quality", n: int = 200, ids: str | None = None,
               everything: bool = False, force: bool = False):
        """Write sequences for review or training (label-studio, conll, jsonl, parquet or
        hf-dataset): the top `n` label issues by default, the seq_ids of the read-only query `ids`,
        or every sequence. Returns an ExportSummary (`.paths`, `.n_sequences`)."""
        from lossdb.ingest.labels import export_labels

        return export_labels(self.con, out, fmt=to, run=run, labels=labels, by=by, n=n, ids=ids,
                             everything=everything, force=force)

    def import_labels(self, path: str | os.PathLike, *, name: str, run: str | None = None,
                      format: str | None = None, replace: bool = False):
        """Import corrected labels (Label Studio JSON export, CoNLL, JSONL, Parquet, hf-dataset
        folder) as label version `name`, all or nothing. Needs a store opened with
        ``read_only=False``. Returns an ImportSummary."""
        from lossdb.errors import StoreError
        from lossdb.ingest.labels import import_labels

        if self.read_only:
            raise StoreError("this store is open read-only", "open it with lossdb.connect(path, read_only=False)")
        return import_labels(self.con, path, name=name, run=run, fmt=format, replace=replace)

    def label_versions(self, *, run: str | None = None):
        """The label versions of a run, gold first, with their entity changes against gold."""
        from lossdb.queries import versions

        return versions.label_versions(self.con, run).df()

    def diff_labels(self, to: str, *, from_labels: str = "gold", run: str | None = None):
        """One row per entity change (added, removed, retyped, reshaped, split, merged, retagged)."""
        from lossdb.queries import versions

        return versions.diff_labels(self.con, run, from_labels=from_labels, to_labels=to).df()

    def consistency(self, *, run: str | None = None, labels: str = "gold", examples: int = 3):
        """Surface forms annotated with different types, or as an entity here and O there."""
        from lossdb.queries import versions

        return versions.consistency(self.con, run, labels=labels, examples=examples).df()

    def seen_unseen(self, train: str, *, run: str | None = None, labels: str = "gold", mode: str = "default"):
        """Entity metrics and loss for surface forms seen in `train` (a run or a data file) or not."""
        from lossdb.queries import versions

        return versions.seen_unseen(self.con, run, train=train, labels=labels, mode=mode).df()

    def buckets(self, *, run: str | None = None, labels: str = "gold", by: str | None = None, mode: str = "default"):
        """Entity metrics and loss by entity length, sequence length and word frequency."""
        from lossdb.queries import versions

        return versions.buckets(self.con, run, labels=labels, by=by, mode=mode).df()

    def calibration(self, *, run: str | None = None, labels: str = "gold", bins: int = 10):
        """Expected calibration error per predicted label (and '(all)')."""
        from lossdb.queries import versions

        return versions.calibration(self.con, run, labels=labels, bins=bins).df()

    def reliability(self, *, run: str | None = None, labels: str = "gold", bins: int = 10, label: str | None = None):
        """The reliability table: per predicted label and confidence bin, n, confidence, accuracy."""
        from lossdb.queries import versions

        return versions.reliability(self.con, run, labels=labels, bins=bins, label=label).df()

    def decoding(self, *, run: str | None = None, labels: str = "gold", differences: bool = False):
        """Lenient (seqeval default) versus strict (IOB2) entity metrics side by side, or with
        ``differences=True`` the entities whose verdict differs."""
        from lossdb.queries import versions

        call = versions.decoding_differences if differences else versions.decoding
        return call(self.con, run, labels=labels).df()

    # --- error analysis: tokens, labels, confusion, entities, label issues, metadata, runs --------

    def loss_by_token(self, n: int | None = None, *, run: str | None = None, labels: str = "gold"):
        """Count, mean and sum of the loss per input token over labelled tokens, highest sum first
        (the book's table led by '▁der' and '▁in'); the first `n` (None: all)."""
        from lossdb.queries import analysis

        return analysis.loss_by_token(self.con, n, run=run, labels=labels).df()

    def loss_by_label(self, *, run: str | None = None, labels: str = "gold"):
        """Count, mean and sum of the loss and accuracy per label, highest mean first."""
        from lossdb.queries import analysis

        return analysis.loss_by_label(self.con, run=run, labels=labels).df()

    def confusion(self, *, run: str | None = None, labels: str = "gold", normalize: bool = False):
        """The confusion matrix: gold labels as the index, predictions as columns (counts, or
        each row divided by its total with `normalize`)."""
        from lossdb.queries import analysis

        frame = analysis.confusion(self.con, run=run, labels=labels, normalize=normalize).df().set_index("label")
        frame.columns.name = "pred"
        return frame

    def plot_confusion(self, path: str | os.PathLike | None = None, *, run: str | None = None, labels: str = "gold",
                       force: bool = False):
        """The row-normalised confusion matrix as a matplotlib Figure (saved to `path` if given;
        an existing file is replaced only with `force`)."""
        from lossdb.queries import analysis

        return analysis.plot_confusion(self.con, path, run=run, labels=labels, force=force)

    def entity_scores(self, *, run: str | None = None, labels: str = "gold", mode: str = "default"):
        """Entity-level precision, recall and F1 per type and averaged, as seqeval computes them
        (IOB2; mode 'default' or 'strict')."""
        from lossdb.queries import entities

        return entities.entity_scores(self.con, run, labels=labels, mode=mode).df()

    def entity_errors(self, *, by: str = "type", run: str | None = None, labels: str = "gold", mode: str = "default",
                      n: int | None = None, seq_id: int | None = None, category: str | None = None):
        """Entity error types (correct, wrong_type, wrong_boundary, wrong_type_and_boundary, missed,
        spurious) per entity type (`by='type'`), per sequence ('sequence') or per entity ('entity')."""
        from lossdb.queries import entities

        return entities.entity_errors(self.con, run, labels=labels, mode=mode, by=by, n=n, seq_id=seq_id,
                                      category=category).df()

    def label_issues(self, n: int = 10, *, run: str | None = None, labels: str = "gold", method: str | None = None):
        """The n sequences most likely to carry a label error by `method` (None: the default; see
        ``label_methods()``), most suspect first, each with its score (label_quality), total loss,
        entity-level suspects (`suspected`, a list of dicts) and cleanlab's flagged tokens (`suspects`)."""
        from lossdb.queries import analysis

        return analysis.label_issues(self.con, n, run=run, labels=labels, method=method).df()

    def label_methods(self):
        """The label-issue ranking methods, the default marked."""
        from lossdb.queries import rankings

        return rankings.methods().df()

    def label_scores(self, *, run: str | None = None, labels: str = "gold"):
        """Every ranking method's score of every sequence (lower = more suspect; total_loss higher)."""
        from lossdb.queries import rankings

        return rankings.label_scores(self.con, run=run, labels=labels).df()

    def evaluate_rankings(self, truth: str, *, run: str | None = None, labels: str = "gold",
                          methods: list[str] | None = None, plot: str | os.PathLike | None = None):
        """How well each ranking method finds the corrections of label version `truth` (positives:
        the sequences it labels differently): AUPRC, AUROC, precision / recall / lift at k; the
        same numbers as `lossdb issues --evaluate`. With `plot`, also the precision-recall curves."""
        from lossdb.queries import rankings

        if plot is not None:
            rankings.plot_evaluation(self.con, truth, plot, run=run, labels=labels, methods=methods)
        return rankings.evaluate(self.con, truth, run=run, labels=labels, methods=methods).df()

    def token_issues(self, *, run: str | None = None, labels: str = "gold", seq_id: int | None = None,
                     only_issues: bool = True, n: int | None = None):
        """Labelled tokens with self-confidence p_label, p_pred, the class threshold and cleanlab's
        confident-learning flag is_issue (by default only flagged tokens), least confident first."""
        from lossdb.queries import analysis

        return analysis.token_issues(self.con, run=run, labels=labels, seq_id=seq_id, only_issues=only_issues,
                                     n=n).df()

    def search(self, token: str | None = None, *, word: str | None = None, label: str | None = None,
               pred: str | None = None, errors: bool = False, n: int = 3, run: str | None = None,
               labels: str = "gold"):
        """Sequences with a token matching every condition given (e.g. ``search('▁(')``), highest
        total loss first, in the shape of `top`."""
        from lossdb.queries import analysis

        return analysis.search(self.con, token, word=word, label=label, pred=pred, errors=errors, n=n, run=run,
                               labels=labels).df()

    def summary(self, *, by: str = "run", labels: str = "gold", entities: bool = True, mode: str = "default"):
        """Per run (or split, language, model): counts, mean loss, token accuracy, entity F1."""
        from lossdb.queries import analysis

        return analysis.summary(self.con, by=by, labels=labels, entities=entities, mode=mode).df()

    def annotate(self, path: str | os.PathLike, *, key: str, match: str = "auto", name: str = "metadata",
                 replace: bool = False, run: str | None = None):
        """Load per-sequence metadata (CSV, Parquet or JSON Lines) into table `name`, keyed by
        sequence (`match`: auto, id, text or seq_id). Needs ``lossdb.connect(path, read_only=False)``."""
        from lossdb.errors import StoreError
        from lossdb.queries import metadata

        if self.read_only:
            raise StoreError("this store is open read-only", "open it with lossdb.connect(path, read_only=False)")
        return metadata.annotate(self.con, path, key=key, match=match, name=name, replace=replace, run=run).df()

    def metadata(self, name: str | None = None):
        """The metadata tables (None), or the rows of one."""
        from lossdb.queries import metadata

        return (metadata.metadata_table(self.con, name) if name else metadata.annotations(self.con)).df()

    def top_where(self, n: int = 3, where: dict | None = None, *, run: str | None = None, by: str = "total_loss",
                  labels: str = "gold"):
        """`top` among the sequences whose metadata columns equal the values in `where`."""
        from lossdb.queries import metadata

        return metadata.top_where(self.con, n, where, run=run, by=by, labels=labels).df()

    def meta_groups(self, column: str, *, run: str | None = None, by: str = "total_loss", labels: str = "gold"):
        """The run's sequences grouped by a metadata column: counts, losses, label quality, errors."""
        from lossdb.queries import metadata

        return metadata.meta_groups(self.con, column, run=run, by=by, labels=labels).df()

    def compare(self, run_a: str, run_b: str, *, what: str = "sequences", n: int = 10, by: str = "total_loss",
                labels: str = "gold", mode: str = "default"):
        """Two runs over the same data: the sequences whose loss changed most ('sequences'), or the
        per-label ('labels') and per-entity-type ('entities') changes (b - a)."""
        from lossdb.queries import compare

        return compare.compare(self.con, run_a, run_b, what=what, n=n, by=by, labels=labels, mode=mode).df()

    # --- lifetime ----------------------------------------------------------------------

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        mode = "read-only" if self.read_only else "read-write"
        return f"<lossdb.Store {self.path} ({mode})>"


def connect(path: str | os.PathLike | None = None, *, read_only: bool = True) -> Store:
    """Open a lossdb store (default: $LOSSDB_DB, else ./lossdb.duckdb)."""
    return Store(path, read_only=read_only)
