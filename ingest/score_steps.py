"""Scoring a chunk of sequences with a loaded model: the steps every engine shares.

The local engine (pipeline) and the Ray actors (ray_engine) both load the model with
load_scorer, map tags to the model's ids with label_mapper and score with score_chunk
(alignment, windows, length-sorted batches through the backend's forward), so there is one
copy of the scoring logic and no import between the two engines.
"""
from __future__ import annotations

import hashlib
import itertools
from typing import Iterator

import numpy as np

from lossdb.errors import InputError, UsageError
from lossdb.text import counted

from . import align, writer
from .sources import Example, Source


def load_scorer(model: str, *, device: str, dtype: str, backend: str):
    """scoring.load, imported here: torch and transformers load now, never for the read-only commands."""
    try:
        from . import scoring

        return scoring.load(model, device=device, dtype=dtype, backend=backend)
    except ModuleNotFoundError as e:
        if e.name and e.name.split(".")[0] in {"onnxruntime", "onnx"}:
            raise UsageError("--backend onnxruntime needs ONNX Runtime, which is not installed",
                             "pip install 'lossdb[onnx]'") from None
        raise


def checked_max_length(loaded, max_length: int | None, stride: int | None = None) -> int:
    """The window length to score with (the model's unless `max_length`), checked against the
    model and against `stride`, the windows' overlap, which must leave each window a new token."""
    limit_length = loaded.max_length if max_length is None else max_length
    if limit_length > loaded.max_length:
        raise UsageError(f"max_length {limit_length} exceeds the model's {loaded.max_length}", "lower it",
                         parameter="max_length")
    if stride is not None:
        specials = loaded.tokenizer.num_special_tokens_to_add(pair=False)
        width = limit_length - specials
        if stride >= width:  # (it was cut to width - 1 without a word, and recorded as asked)
            raise UsageError(f"stride {stride} is not below a window's {width} tokens (max length {limit_length}, "
                             f"less {specials} special)", f"choose a stride below {width}, or leave it out for "
                             "half a window", parameter="stride")
    return limit_length


def scorer_facts(loaded, max_length: int) -> dict:
    """What the run record keeps of a loaded model: revision, labels, device, dtype, window, versions."""
    versions = library_versions()
    if loaded.backend == "onnxruntime":
        from . import onnx_backend

        versions["onnxruntime"] = onnx_backend.version()
    return {"revision": loaded.revision, "label_names": loaded.label_names, "device": str(loaded.device),
            "dtype": loaded.dtype, "max_length": max_length, "versions": versions}


def library_versions() -> dict:
    from . import scoring

    return scoring.versions()


def label_mapper(source: Source, model_labels: list[str]):
    """A function from one example's tags to model label ids, matched by name."""
    by_name = {name: i for i, name in enumerate(model_labels)}
    names = source.label_names

    def to_ids(tags: list, where: str) -> list[int]:
        ids = []
        for tag in tags:
            if isinstance(tag, (int, np.integer)) and not isinstance(tag, bool):
                if names is not None:
                    if not 0 <= tag < len(names):
                        raise InputError(f"{where}: tag id {tag} is outside the dataset's {len(names)} labels",
                                         "fix the tag ids")
                    tag = names[tag]
                elif 0 <= tag < len(model_labels):
                    tag = model_labels[tag]  # bare integer ids: the model's own ids
                else:
                    raise InputError(f"{where}: tag id {tag} is outside the model's labels 0..{len(model_labels) - 1}",
                                     "write tags as names, or as the model's ids")
            label = by_name.get(tag)
            if label is None:
                raise InputError(f"{where}: label {tag!r} is not one of the model's labels ({', '.join(model_labels)})",
                                 "fix the tag, or use a model trained with that label")
            ids.append(label)
        return ids

    return to_ids


def located(seq_id: int, example: Example, description: str | None = None) -> str:
    """Where a sequence is, for a message: its place in the file where the reader knows it
    ('data.conll, line 9'), and its seq_id (0-based, as the store counts)."""
    if example.where:
        return f"{example.where} (seq_id {seq_id})"
    return f"{description + ', ' if description else ''}sequence {seq_id}"


def check_lengths(seq_id: int, example: Example, where: str | None = None) -> None:
    if len(example.words) != len(example.tags):
        which = located(seq_id, example, where) + (f" (id {example.source_id})" if example.source_id else "")
        raise InputError(f"{which}: {counted(len(example.words), 'word')} but "
                         f"{counted(len(example.tags), 'tag')}", "give every word exactly one tag")


def chunks(items: Iterator, size: int) -> Iterator[list]:
    while chunk := list(itertools.islice(items, size)):
        yield chunk


def score_chunk(chunk, loaded, to_id, max_length, overflow, stride, batch_size) -> list[writer.ScoredSequence]:
    for seq_id, example in chunk:
        check_lengths(seq_id, example)
    word_labels = [to_id(e.tags, located(seq_id, e)) for seq_id, e in chunk]
    label_names = loaded.label_names
    nonempty = [k for k, (_, e) in enumerate(chunk) if e.words]
    encoded: list[align.Encoded | None] = [None] * len(chunk)
    for k, enc in zip(nonempty, align.encode(loaded.tokenizer, [chunk[k][1].words for k in nonempty],
                                              [word_labels[k] for k in nonempty])):
        encoded[k] = enc if overflow == "window" else align.truncate(enc, max_length)
    empty_ids = loaded.tokenizer("", add_special_tokens=True)["input_ids"]
    for k, enc in enumerate(encoded):
        if enc is None:  # a sentence with no words still gets its special-token rows
            n = len(empty_ids)
            encoded[k] = align.Encoded(np.asarray(empty_ids, dtype=np.int64),
                                       loaded.tokenizer.convert_ids_to_tokens(empty_ids),
                                       np.full(n, -1, np.int32), np.full(n, align.IGNORE, np.int64), n, 0)

    windows = [w for k, enc in enumerate(encoded) for w in align.windows(enc, k, max_length, stride)]
    log_probs = [np.empty((len(enc), len(label_names)), dtype=np.float32) for enc in encoded]
    n_windows = [0] * len(encoded)
    # Length-bucketed batches: sorting by length wastes almost nothing on padding.
    order = sorted(range(len(windows)), key=lambda i: len(windows[i].input_ids))
    from . import scoring

    for start in range(0, len(order), batch_size):
        batch = [windows[i] for i in order[start : start + batch_size]]
        for window, scores in zip(batch, scoring.forward(loaded, batch)):
            log_probs[window.seq][window.positions[window.owned]] = scores[window.owned]
            n_windows[window.seq] += 1

    scored = []
    for k, ((seq_id, example), enc) in enumerate(zip(chunk, encoded)):
        scored.append(writer.ScoredSequence(
            seq_id=seq_id, source_id=example.source_id, words_hash=words_hash(example.words),
            words=example.words, labels=[label_names[i] for i in word_labels[k]],
            tokens=enc.tokens, token_ids=enc.input_ids, word_index=enc.word_index, label_ids=enc.label_ids,
            log_probs=log_probs[k], n_windows=n_windows[k], truncated=enc.truncated,
        ))
    return scored


def words_hash(words: list[str]) -> str:
    """A stable key for a sequence's text, the same in every run and for every model: the rule of
    the SQL macro words_hash (sql/schema/126_words_hash.sql), computed here while staging."""
    return hashlib.md5("\x1f".join(words).encode("utf-8")).hexdigest()
