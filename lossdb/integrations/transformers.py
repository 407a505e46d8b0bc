"""`LossdbCallback`: one lossdb run per epoch (or every N steps) of a transformers Trainer.

    from lossdb.integrations.transformers import LossdbCallback
    trainer = Trainer(..., callbacks=[LossdbCallback("lossdb.duckdb", train_dataset, group="train")])
    trainer.train()        # after each epoch: run "train@1", "train@2", ... of group "train"

At each scoring the callback puts the model in eval mode, runs the dataset through it on the
device the Trainer put it on, in length-bucketed batches, with the very code `lossdb ingest`
uses (lossdb.ingest.pipeline.score_and_commit: same alignment, windows, staging and one-
transaction commit), and restores train mode. A run is all or nothing: training killed
mid-epoch leaves the earlier epochs' runs complete and no part of the next one.

Only the main process scores (state.is_world_process_zero), so under multi-GPU training the
store gets one run per epoch, not one per GPU. The cost is measured: each run's params hold
`train_seconds` (the training time since the previous scoring) and `scoring_seconds`, and
each scoring is logged with the two side by side.
"""
from __future__ import annotations

import logging
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from lossdb.errors import StoreError, UsageError
from lossdb.ingest import pipeline, writer
from lossdb.ingest.sources import Source, dataset_source, open_source
from lossdb.queries import db as store_db
from lossdb.queries.result import named
from lossdb.text import counted

logger = logging.getLogger("lossdb")


@dataclass
class ScoringCost:
    """One scoring of the callback: how long it took next to the training it followed."""

    run: str
    step: int
    global_step: int
    train_seconds: float
    scoring_seconds: float  # scoring, staging and the commit

    @property
    def ratio(self) -> float:
        return self.scoring_seconds / self.train_seconds if self.train_seconds else float("nan")


class LossdbCallback(TrainerCallback):
    """Score `dataset` with the model being trained after each epoch (or every `every_n_steps`
    optimiser steps) and commit each scoring as one run of group `group` in the store `db`.

    Parameters
    ----------
    db : str or Path
        The store file (created on the first commit).
    dataset : datasets.Dataset, str or Path
        The sequences to score: a Dataset with a words column (tokens, words) and a tags
        column (ner_tags, tags, labels: names, or ids a ClassLabel feature names, else the
        model's ids); other columns (input_ids, labels...) are ignored, so the tokenized
        training set itself will do. Or any lossdb source (a .conll / .jsonl / .parquet file,
        hf:NAME with `split`).
    group : str
        The runs' group; they are named GROUP@EPOCH ("train@1", ...), or GROUP@stepN with
        `every_n_steps`, and ordered by epoch (or global step).
    every_n_steps : int, optional
        Score every N optimiser steps instead of at each epoch's end.
    tokenizer : optional
        A fast tokenizer; by default the Trainer's processing_class.
    replace : bool
        The group already has runs in the store: replace them (they are deleted when training
        begins). Without it such a training is refused before its first step.
    batch_size, max_length, overflow, stride : as for `lossdb ingest`.
    """

    def __init__(self, db: str | Path, dataset: Any, *, group: str = "train", every_n_steps: int | None = None,
                 tokenizer: Any = None, split: str | None = None, words_column: str | None = None,
                 tags_column: str | None = None, id_column: str | None = None, batch_size: int = 64,
                 max_length: int | None = None, overflow: str = "window", stride: int | None = None,
                 replace: bool = False, verbose: bool = True) -> None:
        pipeline.check_group_step(group, None)
        if every_n_steps is not None and (isinstance(every_n_steps, bool) or not isinstance(every_n_steps, int)
                                          or every_n_steps < 1):
            raise UsageError(f"every_n_steps must be a whole number of at least 1, not {every_n_steps!r}",
                             "e.g. every_n_steps=500, or leave it out to score at each epoch's end")
        if batch_size < 1:
            raise UsageError(f"batch_size must be at least 1, not {batch_size}", "e.g. batch_size=64")
        if overflow not in pipeline.OVERFLOW:
            raise UsageError(f"overflow must be window or truncate, not {overflow!r}", "the default, window, drops nothing")
        self.db = str(db)
        self.group = group
        self.every_n_steps = every_n_steps
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.max_length = max_length
        self.overflow = overflow
        self.stride = stride
        self.replace = replace
        self.verbose = verbose
        self.source = _source(dataset, split=split, words_column=words_column, tags_column=tags_column,
                              id_column=id_column)
        self.costs: list[ScoringCost] = []
        self._since = time.perf_counter()
        self._n_sequences: int | None = None

    # --- Trainer events ------------------------------------------------------------------------

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if not state.is_world_process_zero:
            return
        tokenizer = self._tokenizer(kwargs)
        if model is not None:
            labels = [model.config.id2label[i] for i in range(len(model.config.id2label))]
            # Read the data once now, as ingest does: a bad tag fails before the first step, not after an epoch.
            self._n_sequences = pipeline._check_data(self.source, None, None, labels)
        if tokenizer is None:
            raise UsageError("LossdbCallback has no tokenizer to score with",
                             "pass tokenizer= to the callback, or processing_class= to the Trainer")
        self._prepare_store()
        self._since = time.perf_counter()

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if self.every_n_steps and state.global_step % self.every_n_steps == 0 and state.is_world_process_zero:
            self._score(model, kwargs, state, step=state.global_step, run=f"{self.group}@step{state.global_step}")

    def on_epoch_end(self, args, state, control, model=None, **kwargs):
        if self.every_n_steps is None and state.is_world_process_zero:
            epoch = state.epoch or 0.0
            # the n-th epoch is step n; a last epoch cut short (max_steps, num_train_epochs=2.4)
            # is a step of its own, named by how far it got ('train@2.4', step 3)
            step = max(1, math.ceil(round(epoch, 6)))
            shown = str(step) if round(epoch, 6) == step else f"{epoch:.2f}".rstrip("0").rstrip(".")
            self._score(model, kwargs, state, step=step, run=f"{self.group}@{shown}")

    # --- scoring ---------------------------------------------------------------------------------

    def _tokenizer(self, kwargs: dict):
        return self.tokenizer or kwargs.get("processing_class") or kwargs.get("tokenizer")

    def _prepare_store(self) -> None:
        """Fail before training if the store can't take the group's runs; with replace, clear
        the group's earlier runs (one transaction)."""
        path = Path(self.db)
        if not path.parent.exists():
            raise StoreError(f"folder {path.parent} does not exist", "create it, or choose another store path (db)")
        if not path.exists():
            return
        con = store_db.connect(self.db, read_only=False, migrate=True, lock_wait=writer.LOCK_WAIT_SECONDS)
        try:
            earlier = named(con, "group_runs", {"group": self.group}).column("run_id")
            # runs named as this group's would be (GROUP@...) but outside it: never replaced
            others = [r for r in named(con, "runs_named_like", {"prefix": f"{self.group}@"}).column("run_id")
                      if r not in earlier]
            if others:
                raise StoreError(f"run {others[0]!r} of {self.db} is not in group {self.group!r}, and the callback "
                                 f"names its runs {self.group}@EPOCH (or @stepN)",
                                 "choose another group, or another store (db)", parameter="group")
            if earlier and not self.replace:
                raise StoreError(f"group {self.group!r} already has {counted(len(earlier), 'run')} in {self.db}",
                                 "pass replace=True to replace them, or choose another group")
            with store_db.transaction(con):
                for run in earlier:
                    writer.delete_run(con, run)
        finally:
            con.close()

    def _score(self, model, kwargs: dict, state, *, step: int, run: str) -> None:
        from lossdb.ingest import scoring  # torch is loaded already: the Trainer is running

        train_seconds = time.perf_counter() - self._since
        started = time.perf_counter()
        tokenizer = self._tokenizer(kwargs)
        was_training = model.training
        model.eval()
        try:
            loaded = scoring.from_model(model, tokenizer)
            max_length = self.max_length or loaded.max_length
            name = getattr(model.config, "_name_or_path", "") or type(model).__name__
            summary = pipeline.score_and_commit(
                self.source, loaded, db_path=self.db, run=run, model=f"{name} (training, step {state.global_step})",
                replace=False,  # (replace=True cleared the group before training; nothing else is replaced)
                group=self.group, step=step, batch_size=self.batch_size, max_length=max_length,
                overflow=self.overflow, stride=self.stride, n_expected=self._n_sequences,
                extra_params={"epoch": state.epoch, "global_step": state.global_step,
                              "train_seconds": round(train_seconds, 3)})
        finally:
            model.train(was_training)
        cost = ScoringCost(run, step, state.global_step, train_seconds, time.perf_counter() - started)
        self.costs.append(cost)
        line = (f"lossdb: run {run!r}: scored {counted(summary.n_sequences, 'sequence')} in {cost.scoring_seconds:.1f} s "
                f"after {cost.train_seconds:.1f} s of training ({cost.ratio:.0%} of it) -> {self.db}")
        logger.info(line)
        if self.verbose:
            print(line, file=sys.stderr, flush=True)
        self._since = time.perf_counter()


def _source(dataset: Any, *, split, words_column, tags_column, id_column) -> Source:
    columns = {"words_column": words_column, "tags_column": tags_column, "id_column": id_column}
    if isinstance(dataset, (str, Path)):
        return open_source(str(dataset), split=split, **columns)
    if hasattr(dataset, "column_names") and hasattr(dataset, "features") and not isinstance(dataset.column_names, dict):
        rows = counted(len(dataset), 'row')
        return dataset_source(dataset, f"datasets.Dataset ({rows})", split, **columns)
    raise UsageError(f"cannot score a {type(dataset).__name__} with LossdbCallback",
                     "pass a datasets.Dataset with words and tags columns (one split, not a DatasetDict), "
                     "or the path of a lossdb source")
