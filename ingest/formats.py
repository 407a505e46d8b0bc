"""One reader and one writer per file format, shared by ingest, import-labels and export, so
a file reads the same whichever command reads it.

    conll         one token a line, the tag in the last column, a blank line between sentences
    jsonl         JSON Lines: a list column of words and one of tags (`-` is standard input)
    parquet       the same columns in Parquet
    hf-dataset    a Hugging Face `datasets` folder (save_to_disk), or hf:NAME[:CONFIG] for ingest
    label-studio  a JSON list of Label Studio tasks (formats_label_studio)

Every reader yields `Record`s: a sentence's words and tags (label names, or integer ids when
`Opened.label_names` or the model say what they mean), its id, and where it is in the file.
A problem in one record (words that are not a list, ...) is left in `Record.problem`, so that
ingest stops at the first while import-labels lists them all; a file that cannot be read at
all raises InputError.

The rules, once for every command:

- Text is UTF-8; a leading byte-order mark is not text.
- CoNLL: the tag is the last column. The token is the first column, or the second when the
  file has an index column (decided once per file, on its first sentence: a first column
  counting 0.. or 1.. with more than two columns, as in CoNLL-U and the PAN-X files).
  `-DOCSTART-` lines (in the first column, or the second after an index) are skipped, and so
  are `# key = value` comments; those before a sentence's first token give its `seq_id`,
  `seq_key` (its id) and `run`, as lossdb's own CoNLL export writes them.
- JSON Lines, Parquet and datasets: the first of `WORDS_COLUMNS`, `TAGS_COLUMNS` and
  `ID_COLUMNS` present, unless the caller names a column; `seq_id` and `run` columns are read
  where present.
- A file's format comes from its suffix (`SUFFIXES`); `.json` is Label Studio's export when it
  holds a JSON list, else JSON Lines; a folder is a saved dataset.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, NamedTuple, Sequence

from lossdb.errors import InputError, UsageError, first_line
from lossdb.outfile import mode_for, write_error

from . import model_files

FORMATS = ("label-studio", "conll", "jsonl", "parquet", "hf-dataset")
SUFFIXES = {
    ".conll": "conll", ".conllu": "conll", ".conll03": "conll", ".iob": "conll", ".iob2": "conll", ".bio": "conll",
    ".tsv": "conll", ".txt": "conll", "": "conll",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json",  # "json": decided by the content, see detect_format
    ".parquet": "parquet",
}
WORDS_COLUMNS = ("tokens", "words")
TAGS_COLUMNS = ("ner_tags", "tags", "labels", "ner")
ID_COLUMNS = ("id", "seq_key", "guid", "uid")
CODE_POINTS, UTF16 = "code points", "UTF-16 code units"  # the units of Label Studio's character offsets
EXPORT_MARKER = "lossdb-export.json"  # in every hf-dataset folder lossdb writes: what --force may replace


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise UsageError(f"unknown label format {fmt!r}", f"choose one of {', '.join(FORMATS)}", parameter="format")
    return fmt


def detect_format(path: Path, *, nameable: bool = False) -> str:
    """The format of a file from its suffix (a folder is a saved Hugging Face dataset).
    `nameable`: the caller takes a `format` (import-labels), which the hint offers."""
    if path.is_dir():
        return "hf-dataset"
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        suffixes = ".conll/.conllu/.iob/.tsv, .jsonl, .json (Label Studio), .parquet"
        raise InputError(f"cannot tell the format of {path} from its suffix {path.suffix!r}",
                         f"name the format ({', '.join(FORMATS)}), or rename the file to {suffixes}" if nameable
                         else f"rename the file to {suffixes}", parameter="format" if nameable else None)
    if fmt == "json":
        return "label-studio" if _first_character(path) == "[" else "jsonl"
    return fmt


def _first_character(path: Path) -> str:
    with path.open("rb") as f:
        head = f.read(4096)
    return head.decode("utf-8-sig", errors="replace").lstrip()[:1]


# --- what a reader yields ----------------------------------------------------------------


@dataclass(frozen=True)
class CharSpan:
    """A Label Studio region: character offsets into the task text and its labels."""

    start: Any
    end: Any
    labels: Any
    text: str | None


@dataclass(frozen=True)
class Record:
    """One sentence as a file holds it."""

    where: str  # "file, line 7": for messages
    words: list[str] | None
    tags: list | None = None  # label names, or integer ids
    id: str | None = None  # the source's own id (an id column, a `# seq_key` comment)
    seq_id: int | None = None  # lossdb's seq_id, in files lossdb exported
    run: str | None = None
    problem: str | None = None  # why this record cannot be used, if it cannot
    fix: str | None = None  # and what to do about it
    # Label Studio: the task text, its regions, and the offset units decided for the task
    text: str | None = None
    spans: list[CharSpan] | None = None
    offsets: str = CODE_POINTS
    annotated: bool = True  # False: a task without a usable annotation


@dataclass
class Opened:
    """A readable file: its format, a description, what integer tags mean, and its records."""

    format: str
    description: str
    label_names: list[str] | None
    split: str | None
    _records: Callable[[], Iterator[Record]] = field(repr=False)

    def __iter__(self) -> Iterator[Record]:
        return self._records()


class Columns(NamedTuple):
    words: str
    tags: str
    id: str | None


def open_file(path: str | os.PathLike, fmt: str | None = None, *, split: str | None = None,
              words_column: str | None = None, tags_column: str | None = None,
              id_column: str | None = None) -> Opened:
    """A file (or saved dataset folder) in `fmt`, else in the format its suffix names. Label
    Studio's export is read by formats_label_studio.read_label_studio (import-labels only)."""
    path = Path(path)
    fmt = check_format(fmt) if fmt else detect_format(path)
    if fmt != "hf-dataset" and path.is_dir():
        raise InputError(f"{path} is a folder", "pass a file, or a folder written by save_to_disk as hf-dataset")
    columns = (words_column, tags_column, id_column)
    if fmt == "conll":
        given = [n for n, c in zip(("words_column", "tags_column", "id_column"), columns) if c is not None]
        if given:  # a CoNLL file's columns are fixed: they would be ignored
            verb = "names" if len(given) == 1 else "name"
            flags = ", ".join("--" + g.replace("_", "-") for g in given)
            raise UsageError(f"{', '.join(given)} {verb} columns of JSON Lines, Parquet or a dataset, and {path.name} "
                             "is CoNLL (a token and its tag a line)",
                             f"leave {'it' if len(given) == 1 else 'them'} out for a CoNLL file",
                             parameter=given[0],
                             cli_message=f"{flags} {verb} columns of JSON Lines, Parquet or a dataset, and {path.name} "
                                         "is CoNLL (a token and its tag a line)")
        return Opened(fmt, str(path), None, split, lambda: read_conll(path))
    if fmt == "jsonl":
        return Opened(fmt, str(path), None, split, lambda: read_jsonl(path, *columns))
    if fmt == "parquet":
        return open_parquet(path, split, *columns)
    if fmt == "hf-dataset":
        return open_hf_dataset(str(path), split, *columns, saved_only=True)
    raise InputError(f"{path} is read as a Label Studio export (.json), which holds corrections, not a dataset to "
                     "score", "import it with `lossdb import-labels`; to score records of words and tags, write them "
                     "as JSON Lines (.jsonl), one object a line")


def open_stdin(split: str | None = None, words_column=None, tags_column=None, id_column=None) -> Opened:
    return Opened("jsonl", "<stdin>", None, split,
                  lambda: read_jsonl_lines(sys.stdin, "<stdin>", words_column, tags_column, id_column))


def text_lines(path: Path, what: str) -> Iterator[str]:
    """The lines of a UTF-8 text file, line ends kept; a leading BOM is not text."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as lines:
            yield from lines
    except UnicodeDecodeError as e:
        raise InputError(f"{path} is not a UTF-8 text file (byte {e.start})", f"pass {what} in UTF-8") from None


def read_text(path: Path, what: str) -> str:
    return "".join(text_lines(path, what))


def int_or_none(value) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def str_or_none(value) -> str | None:
    return None if value is None else str(value)


# --- CoNLL -------------------------------------------------------------------------------


def read_conll(path: Path) -> Iterator[Record]:
    """The sentences of a CoNLL-style file (see the module's rules)."""
    index_column: bool | None = None  # decided on the first sentence, for the whole file
    rows: list[list[str]] = []
    meta: dict[str, str] = {}
    start = 1

    def sentence() -> Record:
        nonlocal index_column
        if index_column is None:
            index_column = _counts_up([r[0] for r in rows])
        column = 1 if index_column and all(len(r) > 2 for r in rows) else 0
        return Record(f"{path.name}, line {start}", [r[column] for r in rows], [r[-1] for r in rows],
                      id=meta.get("seq_key"), seq_id=int_or_none(meta.get("seq_id")), run=meta.get("run"))

    number = 0
    for number, line in enumerate(text_lines(path, "a CoNLL text file"), start=1):
        line = line.rstrip("\r\n")
        if "\x00" in line:
            raise InputError(f"{path} is not a text file (NUL byte on line {number})", "pass a CoNLL text file")
        if not line.strip():
            if rows:
                yield sentence()
            rows, meta = [], {}
            continue
        if line.startswith("# ") and " = " in line:  # '# sent_id = 3', '# seq_id = 12'
            if not rows:
                key, _, value = line[2:].partition(" = ")
                meta[key.strip()] = value.strip()
                start = number
            continue
        if not rows and not meta and start == 1 and _is_json(line):  # the file's first row
            raise InputError(f"{path} holds JSON, not CoNLL (line {number} starts with {line.lstrip()[0]!r})",
                             "read it as JSON: name it .jsonl (JSON Lines) or .json (a Label Studio export)")
        parts = line.split("\t") if "\t" in line else line.split()
        if parts and (parts[0] == "-DOCSTART-" or (len(parts) > 2 and parts[1] == "-DOCSTART-")):
            continue
        if len(parts) < 2:
            raise InputError(
                f"{path}, line {number}: expected a token and a tag, found {len(parts)} column ({line[:40]!r})",
                "write one token and its tag per line, separated by a tab or spaces")
        if not rows and not meta:
            start = number
        rows.append(parts)
    if rows:
        yield sentence()


def _is_json(line: str) -> bool:
    """A JSON object or array on one line, or the first line of one written over several (a
    token '[' with its tag is neither)."""
    text = line.strip()
    if text in ("[", "{"):
        return True
    if text[:1] not in ("[", "{"):
        return False
    try:
        return isinstance(json.loads(text), (dict, list))
    except ValueError:
        return False


def _counts_up(column: list[str]) -> bool:
    """A first column that counts 0.. or 1..: an index column, not tokens."""
    if not column or not all(c.isdigit() for c in column):
        return False
    first = int(column[0])
    return first in (0, 1) and [int(c) for c in column] == list(range(first, first + len(column)))


def check_conll_words(seqs: Sequence["ExportSequence"]) -> None:
    """Refuse what a CoNLL file cannot hold, before anything is written."""
    for seq in seqs:
        for name, value in (("run", seq.run), ("seq_key", seq.seq_key)):
            if "\n" in value or "\r" in value:
                raise InputError(f"sequence {seq.seq_id}: its {name} {value!r} holds a line break, which a CoNLL "
                                 "comment cannot", "export this selection as jsonl, parquet, label-studio or hf-dataset")
        for i, word in enumerate(seq.words):
            if word == "" or word == "-DOCSTART-" or any(c.isspace() for c in word):
                why = ("is empty" if word == "" else "is CoNLL's document marker" if word == "-DOCSTART-"
                       else "contains whitespace")
                raise InputError(f"sequence {seq.seq_id}: word {i} ({word!r}) {why}, which CoNLL cannot hold",
                                 "export this selection as jsonl, parquet, label-studio or hf-dataset instead")


def write_conll(seqs: Sequence["ExportSequence"], f) -> None:
    parts = []
    for seq in seqs:
        lines = [f"# run = {seq.run}", f"# seq_id = {seq.seq_id}", f"# seq_key = {seq.seq_key}"]
        lines += [f"{word}\t{label}" for word, label in zip(seq.words, seq.labels)]
        parts.append("\n".join(lines) + "\n")
    f.write("\n".join(parts).encode("utf-8"))


# --- JSON Lines, Parquet and datasets: columns ---------------------------------------------


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


def pick_columns(names: Sequence[str], where: str, words_column=None, tags_column=None, id_column=None) -> Columns:
    def pick(given, candidates, what, required=True):
        if given:
            if given not in names:
                raise InputError(f"{where} has no column {given!r} (columns: {', '.join(names)})",
                                 f"pass the {what} column's name", parameter=f"{what}_column")
            return given
        found = next((c for c in candidates if c in names), None)
        if found is None and required:
            raise InputError(
                f"{where} has no {what} column (looked for {', '.join(candidates)}; found {', '.join(names)})",
                f"name it with {what}_column=", parameter=f"{what}_column", cli_hint=f"name it with --{what}-column")
        return found

    columns = Columns(pick(words_column, WORDS_COLUMNS, "words"), pick(tags_column, TAGS_COLUMNS, "tags"),
                      pick(id_column, ID_COLUMNS, "id", required=False))
    if columns.words == columns.tags:  # its tags would be scored as the words
        raise InputError(f"{where}: column {columns.words!r} is named for both the words and the tags",
                         "name the words column and the tags column apart (words_column=, tags_column=)",
                         cli_hint="name the words column and the tags column apart (--words-column, --tags-column)")
    return columns


def _row_record(row: dict, columns: Columns, where: str) -> Record:
    words, tags = row.get(columns.words), row.get(columns.tags)
    source_id = row.get(columns.id) if columns.id else None
    if isinstance(source_id, (list, dict)):  # (its Python text was stored as the key)
        return Record(where, None, None, problem=f"the id column {columns.id!r} holds {type(source_id).__name__}s, "
                      "not ids", fix="name a column of strings or numbers for the ids (--id-column)")
    ids = dict(id=str_or_none(source_id), seq_id=int_or_none(row.get("seq_id")), run=str_or_none(row.get("run")))
    if not isinstance(words, list) or not isinstance(tags, list):
        return Record(where, None, None, **ids,
                      problem=f"{columns.words!r} and {columns.tags!r} must be lists", fix="store words and tags as lists")
    bad = next((i for i, w in enumerate(words) if w is None or isinstance(w, (list, dict, bool))), None)
    if bad is not None:
        return Record(where, None, list(tags), **ids,
                      problem=f"word {bad} is {json.dumps(words[bad])}, not a string", fix="write every word as a string")
    return Record(where, [str(w) for w in words], list(tags), **ids)


def _extra_columns(names: Sequence[str], columns: Columns) -> list[str]:
    """The columns to read: the chosen ones, and lossdb's seq_id and run where present."""
    wanted = [c for c in columns if c] + [c for c in ("seq_id", "run") if c in names and c not in columns]
    return list(dict.fromkeys(wanted))


# --- JSON Lines ------------------------------------------------------------------------------


def read_jsonl(path: Path, words_column=None, tags_column=None, id_column=None) -> Iterator[Record]:
    yield from read_jsonl_lines(text_lines(path, "JSON Lines"), path.name, words_column, tags_column, id_column)


def read_jsonl_lines(lines: Iterable[str], name: str, words_column=None, tags_column=None,
                     id_column=None) -> Iterator[Record]:
    columns = None
    for number, row in json_objects(lines, name):
        if columns is None:
            columns = pick_columns(list(row), name, words_column, tags_column, id_column)
        yield _row_record(row, columns, f"{name}, line {number}")


def _clean(value: float | None) -> float | None:
    return None if value is None or value != value or value in (float("inf"), float("-inf")) else float(value)


def export_row(seq: "ExportSequence") -> dict:
    """An exported sequence as one JSON Lines object / Parquet row."""
    return {"run": seq.run, "seq_id": seq.seq_id, "seq_key": seq.seq_key, "words": seq.words, "labels": seq.labels,
            "preds": seq.preds, "total_loss": _clean(seq.total_loss), "mean_loss": _clean(seq.mean_loss),
            "label_quality": _clean(seq.label_quality)}


def write_jsonl(seqs: Sequence["ExportSequence"], f) -> None:
    for seq in seqs:
        f.write((json.dumps(export_row(seq), ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8"))


# --- Parquet ---------------------------------------------------------------------------------


def open_parquet(path: Path, split=None, words_column=None, tags_column=None, id_column=None) -> Opened:
    import pyarrow.parquet as pq

    try:
        file = pq.ParquetFile(path)
    except Exception as e:  # pyarrow raises ArrowInvalid and friends for non-Parquet files
        raise InputError(f"{path} is not a Parquet file ({first_line(e)})",
                         "pass a Parquet file, or rename it to its real format") from None
    names = file.schema_arrow.names
    columns = pick_columns(names, str(path), words_column, tags_column, id_column)

    def read() -> Iterator[Record]:
        row = 0
        for batch in file.iter_batches(columns=_extra_columns(names, columns), batch_size=4096):
            for record in batch.to_pylist():
                yield _row_record(record, columns, f"{path.name}, row {row}")
                row += 1

    return Opened("parquet", str(path), _parquet_class_label(file, columns.tags), split, read)


def _parquet_class_label(file, tags_column: str) -> list[str] | None:
    """The ClassLabel names of `tags_column` that a file written by `datasets` (Dataset.to_parquet,
    the Hub's Parquet files) keeps in its schema metadata: what its integer tags mean, as the
    saved dataset's own feature says. None for a file without them."""
    try:
        features = json.loads((file.schema_arrow.metadata or {})[b"huggingface"])["info"]["features"]
        feature = features[tags_column]
        inner = feature[0] if isinstance(feature, list) else feature.get("feature")
        if inner.get("_type") == "ClassLabel" and all(isinstance(n, str) for n in inner["names"]):
            return list(inner["names"])
    except (KeyError, TypeError, AttributeError, ValueError, IndexError):
        pass
    return None


def write_parquet(seqs: Sequence["ExportSequence"], f) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("run", pa.string()), ("seq_id", pa.int64()), ("seq_key", pa.string()),
                        ("words", pa.list_(pa.string())), ("labels", pa.list_(pa.string())),
                        ("preds", pa.list_(pa.string())), ("total_loss", pa.float64()),
                        ("mean_loss", pa.float64()), ("label_quality", pa.float64())])
    pq.write_table(pa.Table.from_pylist([export_row(s) for s in seqs], schema=schema), f)


# --- Hugging Face datasets -----------------------------------------------------------------


# The files of a folder that datasets.load_dataset reads as token-classification data (a folder of
# splits, e.g. train.jsonl and validation.jsonl.gz); not .txt, which it reads as lines of text.
HF_DATA_FILES = {".json", ".jsonl", ".ndjson", ".parquet", ".geoparquet", ".gpq", ".csv", ".tsv", ".arrow"}


def open_hf_dataset(spec: str, split=None, words_column=None, tags_column=None, id_column=None, *,
                    saved_only: bool = False) -> Opened:
    """A saved dataset folder, or (unless `saved_only`) a dataset by name: NAME[:CONFIG]."""
    import datasets

    name, _, config = spec.partition(":")
    local = Path(spec if saved_only else name)
    try:
        saved = local.is_dir() and any((local / f).exists() for f in ("dataset_dict.json", "state.json"))
        if saved or saved_only:
            loaded = datasets.load_from_disk(str(local))
        else:
            if local.is_dir() and not any(suffix.lower() in HF_DATA_FILES for f in local.rglob("*")
                                          if f.is_file() and not f.name.startswith(".") for suffix in f.suffixes):
                # datasets would make a 'text' dataset of any stray file, then miss a words column
                raise InputError(f"{name} is neither a folder written by save_to_disk nor a folder of data files "
                                 f"({', '.join(sorted(HF_DATA_FILES))})",
                                 "pass a saved dataset folder, or a folder of JSON Lines or Parquet files")
            if not local.exists():
                model_files.check_hub(name, "dataset")  # one line at once where the hub is unreachable
            loaded = datasets.load_dataset(name, config or None)
    except InputError:
        raise
    except Exception as e:  # datasets raises many types: missing, offline, bad config
        if saved_only:
            raise InputError(f"cannot load a Hugging Face dataset from {spec}: {first_line(e)}",
                             "pass a folder written by Dataset.save_to_disk") from None
        raise InputError(f"cannot load Hugging Face dataset {spec!r}: {first_line(e)}",
                         "check the name and config (hf:NAME[:CONFIG]), or pass a local folder or file") from None
    description = str(local) if saved_only else f"hf:{spec}"
    if isinstance(loaded, datasets.DatasetDict):
        if split is None:
            if len(loaded) != 1:
                raise InputError(f"dataset {description} has splits {', '.join(loaded)}",
                                 "save the one split to import on its own" if saved_only else "choose one with --split")
            split = next(iter(loaded))
        if split not in loaded:
            raise InputError(f"dataset {description} has no split {split!r} (splits: {', '.join(loaded)})",
                             "choose one with --split")
        dataset = loaded[split]
    else:
        dataset = loaded
    return open_dataset(dataset, description, split, words_column, tags_column, id_column,
                        where=Path(description).name if saved_only else description)


def open_dataset(dataset, description: str, split=None, words_column=None, tags_column=None, id_column=None, *,
                 where: str | None = None) -> Opened:
    """A `datasets.Dataset` (loaded, or in memory): its words and tags columns (a ClassLabel
    feature says what integer tags mean); other columns (input_ids, labels, ...) are ignored."""
    columns = pick_columns(dataset.column_names, description, words_column, tags_column, id_column)
    inner = getattr(dataset.features[columns.tags], "feature", None)
    label_names = list(inner.names) if hasattr(inner, "names") else None
    where = where or description

    def read() -> Iterator[Record]:
        chosen = dataset.select_columns(_extra_columns(dataset.column_names, columns))
        for number, record in enumerate(chosen):
            yield _row_record(record, columns, f"{where}, row {number}")

    return Opened("hf-dataset", description, label_names, split, read)


def write_hf_dataset(seqs: Sequence["ExportSequence"], folder: Path, label_names: Sequence[str]) -> None:
    """save_to_disk into `folder` (which must not exist yet), with lossdb's marker file."""
    import datasets

    listing = getattr(datasets, "List", None) or datasets.Sequence
    features = datasets.Features({
        "id": datasets.Value("string"), "seq_id": datasets.Value("int64"), "run": datasets.Value("string"),
        "tokens": listing(datasets.Value("string")),
        "ner_tags": listing(datasets.ClassLabel(names=list(label_names))),
    })
    index = {name: i for i, name in enumerate(label_names)}
    dataset = datasets.Dataset.from_dict({
        "id": [s.seq_key for s in seqs], "seq_id": [s.seq_id for s in seqs], "run": [s.run for s in seqs],
        "tokens": [list(s.words) for s in seqs], "ner_tags": [[index[t] for t in s.labels] for s in seqs],
    }, features=features)
    bars = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        dataset.save_to_disk(str(folder))
    finally:
        if bars:
            datasets.enable_progress_bars()
    runs = sorted({s.run for s in seqs})
    (folder / EXPORT_MARKER).write_text(json.dumps({"written_by": "lossdb export", "runs": runs}) + "\n", "utf-8")


def is_lossdb_export(folder: Path) -> bool:
    """A folder lossdb's hf-dataset export wrote (and so may replace): its marker file is there."""
    return folder.is_dir() and (folder / EXPORT_MARKER).is_file()


# --- writing a file or folder whole --------------------------------------------------------


def atomic_write(files: Sequence[tuple[Path, Callable[[Any], None]]]) -> None:
    """Write each (path, write(binary file)) pair: every file is written to a temporary file
    beside it first, and only when all are complete do they replace their paths, so the files
    appear whole or not at all."""
    temporary: list[tuple[str, Path]] = []
    path = files[0][0]
    try:
        for path, write in files:
            fd, tmp = _create(lambda: tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent), path)
            temporary.append((tmp, path))
            os.fchmod(fd, mode_for(path))  # not mkstemp's private 0600
            with os.fdopen(fd, "wb") as f:
                write(f)
        for tmp, path in temporary:
            os.replace(tmp, path)
    except BaseException as e:
        for tmp, _ in temporary:
            Path(tmp).unlink(missing_ok=True)
        _raise_write_error(e, path)


def atomic_folder(folder: Path, write: Callable[[Path], None], *, replace: bool) -> None:
    """Fill a new folder through `write(temporary folder)`, then move it to `folder`; an
    existing `folder` is replaced (only when `replace`) once the new one is complete."""
    tmp = Path(_create(lambda: tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent), folder))
    old = None
    try:
        target = tmp / "dataset"
        write(target)
        if replace and folder.exists():
            old = tmp / "old"
            os.replace(folder, old)
        os.replace(target, folder)
    except BaseException as e:
        if old is not None and old.exists() and not folder.exists():
            os.replace(old, folder)  # put the replaced export back
        shutil.rmtree(tmp, ignore_errors=True)
        _raise_write_error(e, folder)
    shutil.rmtree(tmp, ignore_errors=True)


def _create(make, path: Path):
    try:
        return make()
    except OSError as e:
        _raise_write_error(e, path)


def _raise_write_error(error: BaseException, path: Path):
    """Re-raise `error`; an OSError while writing `path` becomes an OutputError (outfile.write_error)."""
    translated = write_error(error, path)
    if translated is error:
        raise error
    raise translated from error


# --- what an export writes ------------------------------------------------------------------


@dataclass
class ExportSequence:
    run: str
    seq_id: int
    seq_key: str
    words: list[str]
    labels: list[str]
    preds: list[str]
    confidences: list[float | None]
    total_loss: float | None = None
    mean_loss: float | None = None
    label_quality: float | None = None
