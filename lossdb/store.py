"""Store: the Python API over a lossdb file, for notebooks and scripts, and what the CLI calls.

    >>> import lossdb
    >>> store = lossdb.connect("lossdb.duckdb")      # read-only
    >>> store.top(3)                                 # DataFrame, worst sequences first
    >>> for frame in store.samples(3):               # the book's get_samples tables
    ...     display(frame)                           # (in Jupyter: losses shaded)
    >>> store.report(n=50)                           # the HTML report, inline in Jupyter

Every question is one method here, and each method is one call of a lossdb.queries function
(or lossdb.ingest.labels, lossdb.report, lossdb.plots). Tables come back as pandas DataFrames;
a store opened with ``frames=False`` returns the query's Result instead (``.records()``,
``.column(name)``, ``.df()``): the CLI does, so that printing a table never imports pandas.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, Sequence

from lossdb import plots, report
from lossdb.errors import StoreError, UsageError
from lossdb.queries import analysis, compare, core, db, display, dynamics, metadata, versions
from lossdb.queries.result import Result

# numpy (queries.entities, ingest.labels) and pandas (styled) load inside the methods that
# need them: `import lossdb` and every read-only command stay light.


class Store:
    """A connection to one store. Read-only unless opened with ``read_only=False``; tables as
    DataFrames unless opened with ``frames=False`` (then as Results)."""

    def __init__(self, path: str | os.PathLike | None = None, *, read_only: bool = True, frames: bool = True) -> None:
        self.path = str(path or db.default_path())
        self.read_only = read_only
        self.frames = frames
        if not read_only and not Path(self.path).exists():  # a Store opens a store; ingest makes one
            raise StoreError(f"no lossdb store at {self.path}", "run `lossdb ingest` first, or give the path of a store",
                             parameter="path", cli_hint="run `lossdb ingest` first, or point --db at a store")
        self._con = db.connect(self.path, read_only=read_only)

    @property
    def con(self):
        """The DuckDB connection: for SQL of your own (read-only unless opened read-write)."""
        if self._con is None:
            raise StoreError(f"the store {self.path} is closed", "open it again with lossdb.connect(path)")
        return self._con

    def _table(self, result: Result, *, shaded: str | None = None):
        """`result` as this store returns tables: a DataFrame (one Jupyter shades, for `shaded`
        'top'), or the Result itself."""
        if not self.frames:
            return result
        if shaded:
            from lossdb.styled import ShadedFrame

            return ShadedFrame.of(result.df(), kind=shaded)
        return result.df()

    def _writable(self) -> None:
        if self.read_only:
            raise StoreError("this store is open read-only", "open it with lossdb.connect(path, read_only=False)")

    # --- the core questions ------------------------------------------------------------

    def runs(self):
        """Every complete run, newest first."""
        return self._table(core.runs(self.con))

    def top(self, n: int = 3, *, run: str | None = None, by: str = "total_loss", labels: str = core.GOLD):
        """The n worst sequences: rank, run_id, seq_id, total_loss, ... and the aligned
        tokens / labels / preds / losses lists (every position, special tokens included).
        A DataFrame; Jupyter shows it with the losses shaded (``.style_losses()``)."""
        return self._table(core.top(self.con, n, run=run, by=by, labels=labels), shaded="top")

    def samples(self, n: int = 3, *, run: str | None = None, by: str = "total_loss",
                labels: str = core.GOLD) -> Iterator:
        """One DataFrame per sequence, rows tokens / labels / preds / losses and one column per
        position (the first special token dropped, losses to two decimals), as the book's
        ``get_samples`` yields them. Bad arguments are refused here, not at the first next()."""
        import pandas as pd

        from lossdb.styled import ShadedFrame

        records = core.top(self.con, n, run=run, by=by, labels=labels).records()
        scale = display.loss_scale(records)

        def frames() -> Iterator:
            for record in records:
                view = display.book_view(record)
                view["losses"] = [f"{loss:.2f}" for loss in view["losses"]]
                yield ShadedFrame.of(pd.DataFrame(view).T, kind="sample", scale=scale)

        return frames()

    def ranks(self, seq_ids, *, run: str | None = None, by: str = "total_loss"):
        """Where each of `seq_ids` (one id, or several) ranks among all the run's sequences by
        `by` (1 = worst); an id the run lacks is an error."""
        return self._table(core.ranks(self.con, seq_ids, run=run, by=by))

    def report(self, n: int = 50, *, run: str | None = None, against: str | None = None, labels: str = core.GOLD):
        """The HTML report of `run` (default: the newest), judged against label version `labels`:
        a Report that Jupyter renders inline; ``.save("report.html")`` writes the self-contained
        file, ``.html`` is its text."""
        return report.build(self.con, run=run, against=against, n=n, labels=labels)

    def plot(self, kind: str, path: str | os.PathLike | None = None, *, run: str | None = None,
             labels: str = core.GOLD, force: bool = False):
        """A matplotlib Figure: 'confusion', 'loss-by-label' or 'loss-hist' (as `lossdb plot`),
        saved to `path` (.png or .svg) when given; an existing file is replaced only with `force`."""
        plots.check_kind(kind)
        if path is not None:
            plots.check_out(path, force=force)
        fig = plots.figure(self.con, kind, run=run, labels=labels)
        if path is not None:
            plots.save(fig, path, force=force)
        return fig

    def sequence(self, seq_id: int, *, run: str | None = None):
        """One sequence's ordered token rows."""
        return self._table(core.sequence_rows(self.con, seq_id, run=run))

    def sql(self, text: str, params: dict | list | None = None, *, write: bool = False):
        """Ad-hoc SQL (values bound from `params`) as a table. Only statements that read run
        unless `write` (which needs a store opened with ``read_only=False``)."""
        if write and self.read_only:
            raise StoreError("this store is open read-only, so write=True cannot change it",
                             "open it with lossdb.connect(path, read_only=False)", parameter="write")
        return self._table(core.adhoc(self.con, text, params, write=write))

    # --- label versions: export for review, import corrections, compare -------------------
    # Every question takes labels= (a label version; default gold).

    def export(self, out: str | os.PathLike, *, format: str | None = None, run: str | None = None,
               labels: str = core.GOLD, by: str | None = None, n: int | None = None, ids: str | None = None,
               everything: bool = False, force: bool = False, fold: str | None = None):
        """Write sequences for review or training (`format`: label-studio, conll, jsonl, parquet or
        hf-dataset; default: the one `out`'s suffix names, .json label-studio, else label-studio): the top `n` label issues (200 unless given), the seq_ids of the read-only query `ids`,
        every sequence, or (`fold` 'i/K') every sequence but fold i. Returns an ExportSummary (`.paths`, `.n_sequences`)."""
        from lossdb.ingest.labels import export_labels

        if Path(out).resolve() == Path(self.path).resolve():  # force would replace the store with the export
            raise UsageError(f"{out} is this store's own file", "write the export to another path", parameter="out")
        return export_labels(self.con, out, fmt=format, run=run, labels=labels, by=by, n=n, ids=ids,
                             everything=everything, force=force, fold=fold)

    def import_labels(self, path: str | os.PathLike, *, name: str, run: str | None = None,
                      format: str | None = None, replace: bool = False, words_column: str | None = None,
                      tags_column: str | None = None, id_column: str | None = None):
        """Import corrected labels (Label Studio JSON export, CoNLL, JSONL, Parquet, hf-dataset
        folder) as label version `name`, all or nothing, into `run` (default: the run the file's
        rows name, as `export` writes them, else the newest). Needs a store opened with
        ``read_only=False``. Returns an ImportSummary."""
        from lossdb.ingest.labels import import_labels

        self._writable()
        return import_labels(self.con, path, name=name, run=run, fmt=format, replace=replace, words_column=words_column,
                             tags_column=tags_column, id_column=id_column)

    def label_versions(self, *, run: str | None = None):
        """The label versions of a run, gold first, with their entity changes against gold."""
        return self._table(versions.label_versions(self.con, run=run))

    def delete_label_version(self, name: str, *, run: str | None = None) -> str:
        """Delete label version `name` of `run` (its word labels and stored scores too); returns
        the run's id. Needs ``read_only=False``."""
        from lossdb.ingest.labels import delete_label_version

        self._writable()
        return delete_label_version(self.con, name, run=run)

    def diff_labels(self, to_labels: str, *, from_labels: str = core.GOLD, run: str | None = None):
        """One row per entity change (added, removed, retyped, reshaped, split, merged, retagged)."""
        return self._table(versions.diff_labels(self.con, run=run, from_labels=from_labels, to_labels=to_labels))

    def consistency(self, *, run: str | None = None, labels: str = core.GOLD, examples: int = 3, n: int | None = None):
        """Surface forms annotated with different types, or as an entity here and O there (the first `n`)."""
        return self._table(versions.consistency(self.con, run=run, labels=labels, examples=examples, n=n))

    def seen_unseen(self, train: str | os.PathLike, *, run: str | None = None, labels: str = core.GOLD,
                    mode: str = "default", scheme: str | None = None):
        """Entity metrics and loss for surface forms seen in `train` (a run, or a data file as
        `lossdb ingest --data` takes it) or not."""
        train = str(train)
        if not versions.is_run(self.con, train) and (Path(train).exists() or train.startswith("hf:")):
            from lossdb.ingest.sources import open_source  # a data file: read as ingest reads it

            train = open_source(train)
        return self._table(versions.seen_unseen(self.con, run=run, train=train, labels=labels, mode=mode,
                                                scheme=scheme))

    def buckets(self, *, run: str | None = None, labels: str = core.GOLD, by: str | None = None, mode: str = "default",
                scheme: str | None = None):
        """Entity metrics and loss by entity length, sequence length and word frequency."""
        return self._table(versions.buckets(self.con, run=run, labels=labels, by=by, mode=mode, scheme=scheme))

    def calibration(self, *, run: str | None = None, labels: str = core.GOLD, bins: int = 10):
        """Expected calibration error per predicted label (and '(all)')."""
        return self._table(versions.calibration(self.con, run=run, labels=labels, bins=bins))

    def reliability(self, *, run: str | None = None, labels: str = core.GOLD, bins: int = 10, label: str | None = None):
        """The reliability table: per predicted label and confidence bin, n, confidence, accuracy."""
        return self._table(versions.reliability(self.con, run=run, labels=labels, bins=bins, label=label))

    def decoding(self, *, run: str | None = None, labels: str = core.GOLD, differences: bool = False,
                 scheme: str | None = None):
        """Lenient (seqeval default) versus strict (IOB2) entity metrics side by side, or with
        ``differences=True`` the entities whose verdict differs."""
        call = versions.decoding_differences if differences else versions.decoding
        return self._table(call(self.con, run=run, labels=labels, scheme=scheme))

    # --- error analysis: tokens, labels, confusion, entities, label issues, metadata, runs --------

    def loss_by_token(self, n: int | None = None, *, run: str | None = None, labels: str = core.GOLD):
        """Count, mean and sum of the loss per input token over labelled tokens, highest sum first
        (the book's table led by '▁der' and '▁in'); the first `n` (None: all)."""
        return self._table(analysis.loss_by_token(self.con, n, run=run, labels=labels))

    def loss_by_label(self, *, run: str | None = None, labels: str = core.GOLD):
        """Count, mean and sum of the loss and accuracy per label, highest mean first."""
        return self._table(analysis.loss_by_label(self.con, run=run, labels=labels))

    def confusion(self, *, run: str | None = None, labels: str = core.GOLD, normalize: bool = False):
        """The confusion matrix: gold labels as the index, predictions as columns (counts, or
        each row divided by its total with `normalize`)."""
        table = self._table(analysis.confusion(self.con, run=run, labels=labels, normalize=normalize))
        if self.frames:
            table = table.set_index("label")
            table.columns.name = "pred"
        return table

    def plot_confusion(self, path: str | os.PathLike | None = None, *, run: str | None = None,
                       labels: str = core.GOLD, force: bool = False):
        """The row-normalised confusion matrix as a matplotlib Figure (saved to `path` if given;
        an existing file is replaced only with `force`)."""
        return self.plot("confusion", path, run=run, labels=labels, force=force)

    def entity_scores(self, *, run: str | None = None, labels: str = core.GOLD, mode: str = "default",
                      scheme: str | None = None):
        """Entity-level precision, recall and F1 per type and averaged, as seqeval computes them
        (mode 'default' or 'strict' under `scheme`)."""
        from lossdb.queries import entities

        return self._table(entities.entity_scores(self.con, run=run, labels=labels, mode=mode, scheme=scheme))

    def entity_errors(self, *, by: str = "type", run: str | None = None, labels: str = core.GOLD,
                      mode: str = "default", scheme: str | None = None, n: int | None = None,
                      seq_id: int | None = None, category: str | None = None):
        """Entity error types (correct, wrong_type, wrong_boundary, wrong_type_and_boundary, missed,
        spurious) per entity type (`by='type'`), per sequence ('sequence') or per entity ('entity')."""
        from lossdb.queries import entities

        return self._table(entities.entity_errors(self.con, run=run, labels=labels, mode=mode, scheme=scheme, by=by, n=n,
                                                  seq_id=seq_id, category=category))

    def label_issues(self, n: int = 10, *, run: str | None = None, labels: str = core.GOLD, method: str | None = None):
        """The n sequences most likely to carry a label error by `method` (None: the default; see
        ``label_methods()``), most suspect first, each with its score (label_quality), total loss,
        entity-level suspects (`suspected`, a list of dicts) and cleanlab's flagged tokens (`suspects`)."""
        from lossdb.queries import analysis

        return self._table(analysis.label_issues(self.con, n, run=run, labels=labels, method=method))

    def label_methods(self):
        """The label-issue ranking methods, the default marked."""
        from lossdb.queries import rankings

        return self._table(rankings.methods())

    def label_scores(self, *, run: str | None = None, labels: str = core.GOLD):
        """Every ranking method's score of every sequence (lower = more suspect; total_loss higher)."""
        from lossdb.queries import rankings

        return self._table(rankings.label_scores(self.con, run=run, labels=labels))

    def evaluate_rankings(self, truth: str, *, run: str | None = None, labels: str = core.GOLD,
                          methods: list[str] | None = None, plot: str | os.PathLike | None = None,
                          force: bool = False):
        """How well each ranking method finds the corrections of label version `truth` (positives:
        the sequences it labels differently): AUPRC, AUROC, precision / recall / lift at k; the
        same numbers as `lossdb issues --evaluate`. With `plot`, also the precision-recall curves
        (an existing file is replaced only with `force`)."""
        from lossdb.queries import rankings

        if plot is not None:
            plots.evaluation_figure(self.con, truth, plot, run=run, labels=labels, methods=methods, force=force)
        return self._table(rankings.evaluate(self.con, truth, run=run, labels=labels, methods=methods))

    def token_issues(self, *, run: str | None = None, labels: str = core.GOLD, seq_id: int | None = None,
                     only_issues: bool = True, n: int | None = None):
        """Labelled tokens with self-confidence p_label, p_pred, the class threshold and cleanlab's
        confident-learning flag is_issue (by default only flagged tokens), least confident first."""
        return self._table(analysis.token_issues(self.con, run=run, labels=labels, seq_id=seq_id,
                                                 only_issues=only_issues, n=n))

    def search(self, token: str | None = None, *, word: str | None = None, label: str | None = None,
               pred: str | None = None, errors: bool = False, n: int = 3, run: str | None = None,
               labels: str = core.GOLD):
        """Sequences with a token matching every condition given (e.g. ``search('▁(')``), highest
        total loss first, in the shape of `top`."""
        return self._table(analysis.search(self.con, token, word=word, label=label, pred=pred, errors=errors, n=n,
                                           run=run, labels=labels))

    def search_hint(self, token: str, *, run: str | None = None) -> str | None:
        """For a token no sequence holds: what to search for instead (the same token in another
        case or with the tokenizer's word marks, or the word), else None."""
        return analysis.search_hint(self.con, token, run=run)

    def summary(self, *, by: str = "run", labels: str = core.GOLD, entities: bool = True, mode: str = "default",
                scheme: str | None = None, runs: Sequence[str] | None = None):
        """Per run (or split, language, model): counts, mean loss, token accuracy, entity F1;
        `runs` names the runs to include (all complete runs by default)."""
        return self._table(analysis.summary(self.con, by=by, labels=labels, entities=entities, mode=mode,
                                            scheme=scheme, runs=runs))

    def annotate(self, path: str | os.PathLike, *, key: str, match: str = "auto", name: str = metadata.DEFAULT_TABLE,
                 replace: bool = False, run: str | None = None):
        """Load per-sequence metadata (CSV, Parquet or JSON Lines) into table `name`, keyed by
        sequence (`match`: auto, id, text or seq_id). Needs ``lossdb.connect(path, read_only=False)``."""
        self._writable()
        return self._table(metadata.annotate(self.con, path, key=key, match=match, name=name, replace=replace,
                                             run=run))

    def metadata(self, name: str | None = None):
        """The metadata tables (None), or the rows of one."""
        return self._table(metadata.metadata_table(self.con, name) if name else metadata.annotations(self.con))

    def top_where(self, n: int = 3, where: dict | None = None, *, run: str | None = None, by: str = "total_loss",
                  labels: str = core.GOLD):
        """`top` among the sequences whose metadata columns equal the values in `where` (a dict,
        or (column, value) pairs)."""
        return self._table(metadata.top_where(self.con, n, where, run=run, by=by, labels=labels))

    def meta_groups(self, column: str, *, run: str | None = None, by: str = "total_loss", labels: str = core.GOLD):
        """The run's sequences grouped by a metadata column: counts, losses, label quality, errors
        (mean_loss: the group's loss per labelled token, as in summary)."""
        return self._table(metadata.meta_groups(self.con, column, run=run, by=by, labels=labels))

    def compare(self, run_a: str, run_b: str, *, what: str = "sequences", n: int | None = None, by: str | None = None,
                labels: str = core.GOLD, mode: str = "default", scheme: str | None = None):
        """Two runs over the same data: the `n` (10) sequences whose `by` (total_loss) changed most
        ('sequences'), or the per-label ('labels') and per-entity-type ('entities', decoded by
        `mode` and `scheme`) changes (b - a)."""
        return self._table(compare.compare(self.con, run_a, run_b, what=what, n=n, by=by, labels=labels, mode=mode,
                                           scheme=scheme))

    def compare_overlap(self, run_a: str, run_b: str) -> dict:
        """{'shared', 'n_a', 'n_b'}: the sequences two runs share, and each run's count."""
        return compare.overlap(self.con, run_a, run_b)

    # --- training dynamics: groups of runs, one per checkpoint -------------------------------

    def groups(self):
        """The run groups of the store (lossdb ingest --group, LossdbCallback)."""
        return self._table(dynamics.groups(self.con))

    def dynamics(self, group: str, *, n: int | None = None, method: str | None = None, seq_id: int | None = None):
        """Training dynamics across the group's runs: per sequence, most suspect by `method`
        (aum unless given) first (the first `n`), or with `seq_id` every labelled word of that
        sequence (which n and method do not apply to)."""
        if seq_id is not None:
            for name, given in (("n", n), ("method", method)):
                if given is not None:  # (it would be ignored)
                    raise UsageError(f"seq_id lists every labelled word of the sequence, and {name} does not apply to it",
                                     f"leave out {name}, or seq_id", parameter=name,
                                     cli_message=f"--seq-id lists every labelled word of the sequence, and --{name} "
                                                 "does not apply to it", cli_hint=f"leave out --{name}, or --seq-id")
            return self._table(dynamics.word_dynamics(self.con, group, seq_id=seq_id))
        method = "aum" if method is None else method
        if n is not None:
            return self._table(dynamics.rank(self.con, group, n, method=method))
        return self._table(dynamics.sequence_dynamics(self.con, group, method=method))

    def datamap(self, group: str, path: str | os.PathLike | None = None, *, force: bool = False):
        """The data map of the group (variability against confidence) as a Figure, saved to `path` if given
        (an existing file is replaced only with `force`)."""
        return plots.datamap_figure(self.con, group, path, force=force)

    # --- lifetime ----------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection (again: nothing); the Store cannot be used after it."""
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        mode = "closed" if self._con is None else "read-only" if self.read_only else "read-write"
        return f"<lossdb.Store {self.path} ({mode})>"


def connect(path: str | os.PathLike | None = None, *, read_only: bool = True, frames: bool = True) -> Store:
    """Open a lossdb store (default: $LOSSDB_DB, else ./lossdb.duckdb)."""
    return Store(path, read_only=read_only, frames=frames)


def upgrade(path: str | os.PathLike | None = None) -> list[str]:
    """Bring the store at `path` up to this lossdb: apply its pending migrations in one
    transaction, refresh its views and macros, rewrite an older file readable by DuckDB 1.4+
    (rows are kept, nothing is re-scored). Returns a line for each thing done (none: it was
    already up to date)."""
    return db.upgrade(path or db.default_path())
