"""Readers for every source `lossdb ingest --data` accepts.

Each reader streams `Example`s (words, tags, optional source id) so that ingest
never holds a whole dataset in memory. Tags are label names, or integer ids
when the source says what they mean (`Source.label_names`, e.g. a Hugging Face
ClassLabel) or leaves them to the model's id2label.

    hf:NAME[:CONFIG]      datasets.load_dataset (or load_from_disk for a saved folder)
    *.conll/.conllu/...   one token a line, the tag in the last column
    *.jsonl / *.json      JSON Lines, a list column of words and one of tags
    *.parquet             the same columns in Parquet
    -                     JSON Lines on standard input
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from lossdb.errors import InputError, first_line

WORDS_COLUMNS = ("tokens", "words")
TAGS_COLUMNS = ("ner_tags", "tags", "labels", "ner")
ID_COLUMNS = ("id", "seq_key", "guid", "uid")
CONLL_SUFFIXES = {".conll", ".conllu", ".conll03", ".iob", ".iob2", ".bio", ".tsv", ".txt"}


@dataclass(frozen=True)
class Example:
    words: list[str]
    tags: list  # label names, or integer ids
    source_id: str | None = None


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
    columns = (words_column, tags_column, id_column)
    if spec.startswith("hf:"):
        return _huggingface(spec[3:], split, *columns)
    if spec == "-":
        return Source("<stdin>", split, None, lambda: _jsonl_lines(sys.stdin, "<stdin>", *columns))
    path = Path(spec)
    if not path.exists():
        raise InputError(f"data file {spec} does not exist", "check the path, or use hf:NAME for a Hugging Face dataset")
    if path.is_dir():
        raise InputError(f"{spec} is a folder", "pass a data file, or hf:{spec} for a saved Hugging Face dataset")
    if path.stat().st_size == 0:
        raise InputError(f"data file {spec} is empty", "pass a file with at least one labelled sentence")
    suffix = path.suffix.lower()
    if suffix in {".jsonl", ".json", ".ndjson"}:
        return Source(str(path), split, None, lambda: _jsonl_file(path, *columns))
    if suffix == ".parquet":
        return _parquet(path, split, *columns)
    if suffix in CONLL_SUFFIXES or not suffix:
        return Source(str(path), split, None, lambda: _conll(path))
    raise InputError(
        f"cannot tell the format of {spec} from its suffix {suffix!r}",
        "use .conll/.conllu/.iob/.tsv, .jsonl, .parquet, or hf:NAME",
    )


# --- CoNLL ------------------------------------------------------------------------------


def _conll(path: Path) -> Iterator[Example]:
    """Sentences of a CoNLL-style file. The tag is the last column; the token is the first,
    or the second when the first is a running index (CoNLL-U, the PAN-X files)."""
    token_column: int | None = None
    words: list[str] = []
    tags: list[str] = []
    first_column: list[str] = []  # decides, on the first sentence, where the token is
    try:
        with path.open(encoding="utf-8-sig", newline="") as lines:  # -sig: a leading BOM is not text
            for number, line in enumerate(lines, start=1):
                line = line.rstrip("\r\n")
                if "\x00" in line:
                    raise InputError(f"{path} is not a text file (NUL byte on line {number})", "pass a CoNLL text file")
                if not line.strip():
                    if words:
                        if token_column is None:
                            token_column = _conll_token_column(first_column)
                        yield _conll_sentence(words, tags, token_column)
                        words, tags, first_column = [], [], []
                    continue
                if line.startswith("# ") and " = " in line:  # CoNLL-U comment: '# sent_id = 3'
                    continue
                parts = line.split("\t") if "\t" in line else line.split()
                if len(parts) < 2:
                    raise InputError(
                        f"{path}, line {number}: expected a token and a tag, found {len(parts)} column ({line[:40]!r})",
                        "write one token and its tag per line, separated by a tab or spaces",
                    )
                if parts[0] == "-DOCSTART-" or (len(parts) > 2 and parts[1] == "-DOCSTART-"):
                    continue
                first_column.append(parts[0])
                words.append(parts)  # columns kept until the token column is known
                tags.append(parts[-1])
    except UnicodeDecodeError as e:
        raise InputError(f"{path} is not a UTF-8 text file (byte {e.start})", "pass a CoNLL text file in UTF-8") from None
    if words:
        if token_column is None:
            token_column = _conll_token_column(first_column)
        yield _conll_sentence(words, tags, token_column)


def _conll_token_column(first_column: list[str]) -> int:
    """1 when the first column counts 0.. or 1.. (an index column), else 0."""
    if len(first_column) >= 1 and all(c.isdigit() for c in first_column):
        start = int(first_column[0])
        if start in (0, 1) and [int(c) for c in first_column] == list(range(start, start + len(first_column))):
            return 1
    return 0


def _conll_sentence(rows: list[list[str]], tags: list[str], token_column: int) -> Example:
    column = token_column if all(len(r) > 2 for r in rows) else 0
    return Example([r[column] for r in rows], tags)


# --- JSON Lines and Parquet ---------------------------------------------------------------


def _jsonl_file(path: Path, words_column, tags_column, id_column) -> Iterator[Example]:
    try:
        with path.open(encoding="utf-8-sig") as lines:
            yield from _jsonl_lines(lines, str(path), words_column, tags_column, id_column)
    except UnicodeDecodeError as e:
        raise InputError(f"{path} is not a UTF-8 text file (byte {e.start})", "pass JSON Lines in UTF-8") from None


def json_objects(lines: Iterable[str], name: str) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line of JSON Lines; anything else is an InputError."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"{name}, line {number}: not valid JSON ({e.msg})", "write one JSON object per line") from None
        if not isinstance(record, dict):
            raise InputError(f"{name}, line {number}: expected a JSON object", "write one JSON object per line")
        yield number, record


def _jsonl_lines(lines: Iterable[str], name: str, words_column, tags_column, id_column) -> Iterator[Example]:
    columns = None
    for number, record in json_objects(lines, name):
        if columns is None:
            columns = _pick_columns(list(record), name, words_column, tags_column, id_column)
        yield _record_example(record, columns, f"{name}, line {number}")


def _parquet(path: Path, split, words_column, tags_column, id_column) -> Source:
    import pyarrow.parquet as pq

    try:
        file = pq.ParquetFile(path)
    except Exception as e:  # pyarrow raises ArrowInvalid and friends for non-Parquet files
        raise InputError(f"{path} is not a Parquet file ({e})", "pass a Parquet file, or rename it to its real format") from None
    columns = _pick_columns(file.schema_arrow.names, str(path), words_column, tags_column, id_column)

    def read() -> Iterator[Example]:
        row = 0
        for batch in file.iter_batches(columns=[c for c in columns if c], batch_size=4096):
            for record in batch.to_pylist():
                yield _record_example(record, columns, f"{path}, row {row}")
                row += 1

    return Source(str(path), split, None, read)


def _pick_columns(names: Sequence[str], where: str, words_column, tags_column, id_column):
    def pick(given, candidates, what, required=True):
        if given:
            if given not in names:
                raise InputError(f"{where} has no column {given!r} (columns: {', '.join(names)})", f"pass the {what} column's name")
            return given
        found = next((c for c in candidates if c in names), None)
        if found is None and required:
            raise InputError(
                f"{where} has no {what} column (looked for {', '.join(candidates)}; found {', '.join(names)})",
                f"name it with --{what}-column",
            )
        return found

    return (pick(words_column, WORDS_COLUMNS, "words"), pick(tags_column, TAGS_COLUMNS, "tags"),
            pick(id_column, ID_COLUMNS, "id", required=False))


def _record_example(record: dict, columns, where: str) -> Example:
    words_column, tags_column, id_column = columns
    words, tags = record.get(words_column), record.get(tags_column)
    if not isinstance(words, list) or not isinstance(tags, list):
        raise InputError(f"{where}: {words_column!r} and {tags_column!r} must be lists", "store words and tags as lists")
    bad = next((i for i, w in enumerate(words) if w is None or isinstance(w, (list, dict, bool))), None)
    if bad is not None:
        raise InputError(f"{where}: word {bad} is {json.dumps(words[bad])}, not a string", "write every word as a string")
    source_id = record.get(id_column) if id_column else None
    return Example([str(w) for w in words], tags, None if source_id is None else str(source_id))


# --- Hugging Face datasets ----------------------------------------------------------------


def _huggingface(spec: str, split, words_column, tags_column, id_column) -> Source:
    import datasets

    name, _, config = spec.partition(":")
    local = Path(name)
    try:
        saved = local.is_dir() and any((local / f).exists() for f in ("dataset_dict.json", "state.json"))
        if saved:
            loaded = datasets.load_from_disk(str(local))
        else:
            loaded = datasets.load_dataset(name, config or None)
    except Exception as e:  # datasets raises many types: missing, offline, bad config
        first = first_line(e)
        raise InputError(
            f"cannot load Hugging Face dataset {spec!r}: {first}",
            "check the name and config (hf:NAME[:CONFIG]), or pass a local folder or file",
        ) from None
    if isinstance(loaded, datasets.DatasetDict):
        if split is None:
            if len(loaded) != 1:
                raise InputError(f"dataset {spec!r} has splits {', '.join(loaded)}", "choose one with --split")
            split = next(iter(loaded))
        if split not in loaded:
            raise InputError(f"dataset {spec!r} has no split {split!r} (splits: {', '.join(loaded)})", "choose one with --split")
        dataset = loaded[split]
    else:
        dataset = loaded
    return dataset_source(dataset, f"hf:{spec}", split, words_column=words_column, tags_column=tags_column,
                          id_column=id_column)


def dataset_source(dataset, description: str, split: str | None = None, *, words_column: str | None = None,
                   tags_column: str | None = None, id_column: str | None = None) -> Source:
    """A `datasets.Dataset` in memory as a Source: its words and tags columns (a ClassLabel
    feature says what integer tags mean); other columns (input_ids, labels, ...) are ignored."""
    columns = _pick_columns(dataset.column_names, description, words_column, tags_column, id_column)
    feature = dataset.features[columns[1]]
    inner = getattr(feature, "feature", None)
    label_names = list(inner.names) if hasattr(inner, "names") else None

    def read() -> Iterator[Example]:
        for number, record in enumerate(dataset.select_columns([c for c in columns if c])):
            yield _record_example(record, columns, f"{description}, row {number}")

    return Source(description, split, label_names, read)
