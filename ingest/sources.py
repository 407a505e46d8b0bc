"""What `lossdb ingest --data` accepts, read through the one reader per format (formats.py).

Each source streams `Example`s (words, tags, optional source id) so that ingest never holds
a whole dataset in memory. Tags are label names, or integer ids when the source says what
they mean (`Source.label_names`, e.g. a Hugging Face ClassLabel) or leaves them to the
model's id2label.

    hf:NAME[:CONFIG]      datasets.load_dataset (or load_from_disk for a saved folder)
    *.conll/.conllu/...   one token a line, the tag in the last column
    *.jsonl / *.json      JSON Lines, a list column of words and one of tags
    *.parquet             the same columns in Parquet
    -                     JSON Lines on standard input
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from lossdb.errors import InputError

from . import formats

@dataclass(frozen=True)
class Example:
    words: list[str]
    tags: list  # label names, or integer ids
    source_id: str | None = None
    where: str | None = None  # where the file holds it ('data.conll, line 9'), for messages


@dataclass
class Source:
    """A readable dataset: a description for the runs table and a way to stream it."""

    description: str
    split: str | None
    label_names: list[str] | None  # what integer tags mean, when the source says
    _open: Callable[[], Iterator[Example]] = field(repr=False)

    def __iter__(self) -> Iterator[Example]:
        return self._open()


def open_source(
    spec: str,
    *,
    split: str | None = None,
    words_column: str | None = None,
    tags_column: str | None = None,
    id_column: str | None = None,
) -> Source:
    """Resolve a --data argument to a Source; problems found before reading raise InputError."""
    columns = dict(words_column=words_column, tags_column=tags_column, id_column=id_column)
    if spec.startswith("hf:"):
        return _source(formats.open_hf_dataset(spec[3:], split, *columns.values()))
    if spec == "-":
        return _source(formats.open_stdin(split, *columns.values()))
    path = Path(spec)
    if not path.exists():
        raise InputError(f"data file {spec} does not exist", "check the path, or use hf:NAME for a Hugging Face dataset")
    if path.is_dir():
        raise InputError(f"{spec} is a folder", f"pass a data file, or hf:{spec} for a saved Hugging Face dataset")
    if path.stat().st_size == 0:
        raise InputError(f"data file {spec} is empty", "pass a file with at least one labelled sentence")
    return _source(formats.open_file(path, split=split, **columns))


def dataset_source(dataset, description: str, split: str | None = None, *, words_column: str | None = None,
                   tags_column: str | None = None, id_column: str | None = None) -> Source:
    """A `datasets.Dataset` in memory as a Source (formats.open_dataset)."""
    return _source(formats.open_dataset(dataset, description, split, words_column, tags_column, id_column))


def _source(opened: formats.Opened) -> Source:
    def examples() -> Iterator[Example]:
        for record in opened:
            if record.problem:
                raise InputError(f"{record.where}: {record.problem}", record.fix or "")
            yield Example(record.words, record.tags, record.id, record.where)

    return Source(opened.description, opened.split, opened.label_names, examples)
