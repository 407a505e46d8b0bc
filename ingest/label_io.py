"""Label files: writing sequences out for review, and reading corrected labels back.

Formats (`FORMATS`):

    label-studio  a JSON list of Label Studio tasks (and, beside it, the labeling config XML);
                  import reads Label Studio's JSON export of such tasks
    conll         one `word<TAB>label` a line, a blank line between sentences, each sentence
                  headed by `# run = ...`, `# seq_id = ...`, `# seq_key = ...` comments
    jsonl         one JSON object a line: run, seq_id, seq_key, words, labels (+ preds, scores)
    parquet       the same columns in Parquet
    hf-dataset    a Hugging Face `datasets` folder (save_to_disk): id, seq_id, run, tokens,
                  ner_tags as ClassLabel(names = the run's labels)

Label Studio tasks. The text is the words joined by single spaces; `data` also holds the words
and lossdb's ids (run, seq_id, seq_key) so that an import maps every task back to its sequence
exactly, and the sequence's scores (total_loss, mean_loss, label_quality) for sorting in Label
Studio's data manager. The labels of the exported version are the task's annotation; the
model's entities are a prediction whose `score` is the mean confidence of the model in its
word predictions (each region carries its own mean confidence). Regions are `labels` results
(from_name "label", to_name "text") with value {start, end, text, labels: [TYPE]}.

Character offsets are Python string indices (Unicode code points). That is what Label
Studio's own converter reads (label_studio_converter slices `text[start:end]`) and what the
Label Studio editor stores since it fixed astral characters (HumanSignal/label-studio#1347,
label-studio-frontend#308). Older editors counted UTF-16 code units, so an emoji before a
span shifted it: on import, a span whose `text` matches the task text only under UTF-16
offsets is read with those; a span whose text matches neither is refused, never shifted.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence
from xml.sax.saxutils import quoteattr

from lossdb.errors import InputError, UsageError, first_line
from lossdb.ingest.sources import json_objects
from lossdb.queries.versions import entities, entity_types

FORMATS = ("label-studio", "conll", "jsonl", "parquet", "hf-dataset")
SUFFIXES = {".json": "label-studio", ".conll": "conll", ".conllu": "conll", ".iob": "conll", ".iob2": "conll",
            ".bio": "conll", ".tsv": "conll", ".txt": "conll", ".jsonl": "jsonl", ".ndjson": "jsonl",
            ".parquet": "parquet"}
FROM_NAME, TO_NAME = "label", "text"


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise UsageError(f"unknown label format {fmt!r}", f"choose one of {', '.join(FORMATS)}")
    return fmt


def detect_format(path: Path) -> str:
    """The format of a label file from its suffix (a folder is a Hugging Face dataset)."""
    if path.is_dir():
        return "hf-dataset"
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"cannot tell the format of {path} from its suffix {path.suffix!r}",
                         f"pass --format (one of {', '.join(FORMATS)})")
    return fmt


# --- what an export writes ---------------------------------------------------------------


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


def word_offsets(words: Sequence[str]) -> list[tuple[int, int]]:
    """[start, end) code-point offsets of each word in ' '.join(words)."""
    offsets, at = [], 0
    for word in words:
        offsets.append((at, at + len(word)))
        at += len(word) + 1
    return offsets


def label_studio_config(label_names: Sequence[str]) -> str:
    """A Label Studio labeling config for a run's entity types (Labels over a Text)."""
    labels = "\n".join(f"    <Label value={quoteattr(t)}/>" for t in entity_types(label_names))
    return (f'<View>\n  <Labels name="{FROM_NAME}" toName="{TO_NAME}">\n{labels}\n  </Labels>\n'
            f'  <Text name="{TO_NAME}" value="${TO_NAME}"/>\n</View>\n')


def _regions(seq: ExportSequence, tags: Sequence[str], prefix: str, *, scored: bool) -> list[dict]:
    text = " ".join(seq.words)
    offsets = word_offsets(seq.words)
    regions = []
    for k, (start, end, type_) in enumerate(entities(tags)):
        begin, finish = offsets[start][0], offsets[end - 1][1]
        region: dict[str, Any] = {
            "id": f"{prefix}{seq.seq_id}_{k}", "from_name": FROM_NAME, "to_name": TO_NAME, "type": "labels",
            "value": {"start": begin, "end": finish, "text": text[begin:finish], "labels": [type_]},
        }
        if scored:
            region["score"] = _mean(seq.confidences[start:end])
        regions.append(region)
    return regions


def _mean(values) -> float | None:
    kept = [float(v) for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def label_studio_task(seq: ExportSequence, *, model: str) -> dict:
    return {
        "data": {
            "text": " ".join(seq.words), "words": list(seq.words), "run": seq.run, "seq_id": seq.seq_id,
            "seq_key": seq.seq_key, "total_loss": seq.total_loss, "mean_loss": seq.mean_loss,
            "label_quality": seq.label_quality,
        },
        "annotations": [{"result": _regions(seq, seq.labels, "g", scored=False), "was_cancelled": False,
                         "ground_truth": False}],
        "predictions": [{"model_version": model, "score": _mean(seq.confidences),
                         "result": _regions(seq, seq.preds, "p", scored=True)}],
    }


def _check_conll_words(seqs: Sequence[ExportSequence]) -> None:
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


def write_labels(seqs: Sequence[ExportSequence], out: Path, fmt: str, *, label_names: Sequence[str], model: str,
                 force: bool = False) -> list[Path]:
    """Write `seqs` to `out` in `fmt`; returns the paths written. The file (or folder) appears
    whole or not at all; an existing one is replaced only with `force`."""
    check_format(fmt)
    out = Path(out)
    extra = [out.with_suffix(".label_config.xml")] if fmt == "label-studio" else []
    for path in [out, *extra]:
        if path.exists() and not force:
            raise InputError(f"{path} already exists", "choose another --out, or pass --force to replace it")
    if not out.parent.exists():
        raise InputError(f"folder {out.parent} does not exist", "create it, or choose another --out")
    if fmt == "conll":
        _check_conll_words(seqs)
    if fmt == "hf-dataset":
        _write_hf_dataset(seqs, out, label_names)
        return [out]
    writer: Callable[[Any], None]
    if fmt == "label-studio":
        tasks = [label_studio_task(s, model=model) for s in seqs]
        writer = lambda f: f.write(_json_list(tasks).encode("utf-8"))  # noqa: E731
        _atomic_write(extra[0], lambda f: f.write(label_studio_config(label_names).encode("utf-8")))
    elif fmt == "conll":
        writer = lambda f: f.write(_conll_text(seqs).encode("utf-8"))  # noqa: E731
    elif fmt == "jsonl":
        writer = lambda f: f.write("".join(json.dumps(_record(s), ensure_ascii=False, allow_nan=False) + "\n"  # noqa: E731
                                           for s in seqs).encode("utf-8"))
    else:
        writer = lambda f: _write_parquet(seqs, f)  # noqa: E731
    _atomic_write(out, writer)
    return [out, *extra]


def _atomic_write(path: Path, write: Callable[[Any], None]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _json_list(items: list) -> str:
    """A JSON array, one item a line: diffable, and readable by any JSON reader."""
    lines = ",\n".join(json.dumps(item, ensure_ascii=False, allow_nan=False) for item in items)
    return f"[\n{lines}\n]\n" if items else "[]\n"


def _clean(value: float | None) -> float | None:
    return None if value is None or value != value or value in (float("inf"), float("-inf")) else float(value)


def _record(seq: ExportSequence) -> dict:
    return {"run": seq.run, "seq_id": seq.seq_id, "seq_key": seq.seq_key, "words": seq.words, "labels": seq.labels,
            "preds": seq.preds, "total_loss": _clean(seq.total_loss), "mean_loss": _clean(seq.mean_loss),
            "label_quality": _clean(seq.label_quality)}


def _conll_text(seqs: Sequence[ExportSequence]) -> str:
    parts = []
    for seq in seqs:
        lines = [f"# run = {seq.run}", f"# seq_id = {seq.seq_id}", f"# seq_key = {seq.seq_key}"]
        lines += [f"{word}\t{label}" for word, label in zip(seq.words, seq.labels)]
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


def _write_parquet(seqs: Sequence[ExportSequence], f) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    records = [_record(s) for s in seqs]
    schema = pa.schema([("run", pa.string()), ("seq_id", pa.int64()), ("seq_key", pa.string()),
                        ("words", pa.list_(pa.string())), ("labels", pa.list_(pa.string())),
                        ("preds", pa.list_(pa.string())), ("total_loss", pa.float64()),
                        ("mean_loss", pa.float64()), ("label_quality", pa.float64())])
    pq.write_table(pa.Table.from_pylist(records, schema=schema), f)


def _write_hf_dataset(seqs: Sequence[ExportSequence], out: Path, label_names: Sequence[str]) -> None:
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
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    bars = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        dataset.save_to_disk(str(tmp))
        if out.exists():
            shutil.rmtree(out) if out.is_dir() else out.unlink()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if bars:
            datasets.enable_progress_bars()


# --- what an import reads ----------------------------------------------------------------


@dataclass
class CharSpan:
    start: Any
    end: Any
    labels: Any
    text: str | None


@dataclass
class Imported:
    """One sequence read from a label file: word labels, or (Label Studio) character spans."""

    where: str
    words: list[str] | None = None
    labels: list | None = None
    spans: list[CharSpan] | None = None
    text: str | None = None
    seq_id: int | None = None
    seq_key: str | None = None
    run: str | None = None
    label_names: list[str] | None = None  # what integer labels mean (a ClassLabel)


@dataclass
class ReadLabels:
    format: str
    records: list[Imported]
    unannotated: list[str] = field(default_factory=list)  # tasks without a usable annotation


def read_labels(path: str | os.PathLike, fmt: str | None = None) -> ReadLabels:
    """Every sequence in a label file. A file that cannot be read at all raises InputError;
    per-sequence problems are left to the importer, which reports them all together."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"label file {path} does not exist", "check the path")
    fmt = check_format(fmt) if fmt else detect_format(path)
    if fmt != "hf-dataset" and path.is_dir():
        raise InputError(f"{path} is a folder", "pass a label file, or --format hf-dataset for a saved dataset")
    if fmt == "label-studio":
        return _read_label_studio(path)
    if fmt == "conll":
        return ReadLabels(fmt, list(_read_conll(path)))
    if fmt == "jsonl":
        return ReadLabels(fmt, list(_read_jsonl(path)))
    if fmt == "parquet":
        return ReadLabels(fmt, list(_read_parquet(path)))
    return ReadLabels(fmt, list(_read_hf_dataset(path)))


def _int_or_none(value) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _str_or_none(value) -> str | None:
    return None if value is None else str(value)


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"{path} is not UTF-8 text (byte {e.start})", f"pass {what} in UTF-8") from None


def _read_label_studio(path: Path) -> ReadLabels:
    try:
        tasks = json.loads(_read_text(path, "Label Studio's JSON export"))
    except json.JSONDecodeError as e:
        raise InputError(f"{path} is not valid JSON ({e.msg}, line {e.lineno})",
                         "export the project from Label Studio as JSON") from None
    if isinstance(tasks, dict):
        tasks = [tasks]
    if not isinstance(tasks, list):
        raise InputError(f"{path} holds no list of Label Studio tasks", "export the project from Label Studio as JSON")
    records, unannotated = [], []
    for number, task in enumerate(tasks):
        where = f"{path.name}, task {number}"
        if not isinstance(task, dict):
            raise InputError(f"{where} is not a JSON object", "export the project from Label Studio as JSON")
        if isinstance(task.get("id"), int):
            where = f"{path.name}, task id {task['id']}"
        data = task.get("data") if isinstance(task.get("data"), dict) else None
        if data is None:
            raise InputError(f"{where} has no 'data' object",
                             "export the project from Label Studio as JSON (not JSON-MIN or CSV)")
        annotation = _chosen_annotation(task)
        if annotation is None:
            unannotated.append(where)
            continue
        spans = []
        for region in annotation.get("result") or []:
            if not isinstance(region, dict) or str(region.get("type", "")).lower() != "labels":
                continue  # relations, choices, text areas: not word labels
            value = region.get("value") if isinstance(region.get("value"), dict) else {}
            spans.append(CharSpan(value.get("start"), value.get("end"), value.get("labels"), value.get("text")))
        words = data.get("words")
        records.append(Imported(
            where=where, words=[str(w) for w in words] if isinstance(words, list) else None, spans=spans,
            text=data.get("text") if isinstance(data.get("text"), str) else None,
            seq_id=_int_or_none(data.get("seq_id")), seq_key=_str_or_none(data.get("seq_key")),
            run=_str_or_none(data.get("run")),
        ))
    return ReadLabels("label-studio", records, unannotated)


def _chosen_annotation(task: dict) -> dict | None:
    """The annotation an import takes: ground truth if marked, else the latest one updated;
    cancelled (skipped) annotations never count."""
    annotations = task.get("annotations", task.get("completions")) or []
    usable = [a for a in annotations if isinstance(a, dict) and not a.get("was_cancelled") and not a.get("skipped")]
    if not usable:
        return None
    order = {id(a): k for k, a in enumerate(usable)}
    return max(usable, key=lambda a: (bool(a.get("ground_truth")), str(a.get("updated_at") or a.get("created_at") or ""),
                                      order[id(a)]))


def _read_conll(path: Path) -> Iterator[Imported]:
    text = _read_text(path, "CoNLL")
    rows: list[list[str]] = []
    meta: dict[str, str] = {}
    start_line = 1

    def sentence() -> Imported:
        index_column = all(len(r) > 2 for r in rows) and _counts_up([r[0] for r in rows])
        words = [r[1] if index_column else r[0] for r in rows]
        return Imported(where=f"{path.name}, line {start_line}", words=words, labels=[r[-1] for r in rows],
                        seq_id=_int_or_none(meta.get("seq_id")), seq_key=meta.get("seq_key"), run=meta.get("run"))

    for number, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            if rows:
                yield sentence()
            rows, meta = [], {}
            continue
        if line.startswith("# ") and " = " in line:
            if not rows:
                key, _, value = line[2:].partition(" = ")
                meta[key.strip()] = value.strip()
                start_line = number
            continue
        parts = line.split("\t") if "\t" in line else line.split()
        if parts and parts[0] == "-DOCSTART-":
            continue
        if len(parts) < 2:
            raise InputError(f"{path}, line {number}: expected a word and a label, found {line[:40]!r}",
                             "write one word and its label per line, separated by a tab")
        if not rows and not meta:
            start_line = number
        rows.append(parts)
    if rows:
        yield sentence()


def _counts_up(column: list[str]) -> bool:
    if not all(c.isdigit() for c in column):
        return False
    first = int(column[0])
    return first in (0, 1) and [int(c) for c in column] == list(range(first, first + len(column)))


WORDS_KEYS = ("words", "tokens")
LABELS_KEYS = ("labels", "ner_tags", "tags", "ner")


def _record_imported(record: dict, where: str, label_names: list[str] | None = None) -> Imported:
    words_key = next((k for k in WORDS_KEYS if k in record), None)
    labels_key = next((k for k in LABELS_KEYS if k in record), None)
    if words_key is None or labels_key is None:
        raise InputError(f"{where}: no words or labels (looked for {'/'.join(WORDS_KEYS)} and {'/'.join(LABELS_KEYS)})",
                         "export with lossdb export, or name the columns words and labels")
    words, labels = record[words_key], record[labels_key]
    return Imported(where=where, words=[str(w) for w in words] if isinstance(words, list) else None,
                    labels=list(labels) if isinstance(labels, list) else None,
                    seq_id=_int_or_none(record.get("seq_id")),
                    seq_key=_str_or_none(record.get("seq_key", record.get("id"))),
                    run=_str_or_none(record.get("run")), label_names=label_names)


def _read_jsonl(path: Path) -> Iterator[Imported]:
    for number, record in json_objects(_read_text(path, "JSON Lines").split("\n"), str(path)):
        yield _record_imported(record, f"{path.name}, line {number}")


def _read_parquet(path: Path) -> Iterator[Imported]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as e:  # pyarrow raises ArrowInvalid and friends
        raise InputError(f"{path} is not a Parquet file ({e})", "pass a Parquet file, or --format") from None
    for number, record in enumerate(table.to_pylist()):
        yield _record_imported(record, f"{path.name}, row {number}")


def _read_hf_dataset(path: Path) -> Iterator[Imported]:
    import datasets

    try:
        loaded = datasets.load_from_disk(str(path))
    except Exception as e:  # datasets raises FileNotFoundError and others
        first = first_line(e)
        raise InputError(f"cannot load a Hugging Face dataset from {path}: {first}",
                         "pass a folder written by Dataset.save_to_disk") from None
    if isinstance(loaded, datasets.DatasetDict):
        if len(loaded) != 1:
            raise InputError(f"{path} holds splits {', '.join(loaded)}", "save the one split to import on its own")
        loaded = next(iter(loaded.values()))
    labels_key = next((k for k in LABELS_KEYS if k in loaded.features), None)
    inner = getattr(loaded.features.get(labels_key), "feature", None) if labels_key else None
    names = list(inner.names) if hasattr(inner, "names") else None
    for number, record in enumerate(loaded):
        yield _record_imported(record, f"{path.name}, row {number}", names)


# --- character spans to words ------------------------------------------------------------


def utf16_to_code_points(text: str) -> dict[int, int]:
    """UTF-16 code-unit offset -> code-point offset, for every offset on a character boundary."""
    table, units = {}, 0
    for i, ch in enumerate(text):
        table[units] = i
        units += 2 if ord(ch) > 0xFFFF else 1
    table[units] = len(text)
    return table


def span_words(text: str, words: Sequence[str], span: CharSpan) -> tuple[tuple[int, int] | None, str | None]:
    """The words [i, j) a character span covers exactly, or (None, reason)."""
    start, end = span.start, span.end
    if not (isinstance(start, int) and isinstance(end, int)) or isinstance(start, bool) or isinstance(end, bool):
        return None, f"has no integer start/end offsets ({start!r}, {end!r})"
    if not 0 <= start < end <= len(text):
        # it may still be right in UTF-16 code units
        converted = _from_utf16(text, start, end, span.text)
        if converted is None:
            return None, f"offsets {start}:{end} fall outside the text ({len(text)} characters)"
        start, end = converted
    elif span.text is not None and text[start:end] != span.text:
        converted = _from_utf16(text, start, end, span.text)
        if converted is None:
            return None, f"offsets {start}:{end} cover {text[start:end]!r}, not the span's text"
        start, end = converted
    offsets = word_offsets(words)
    starts = {}
    for i, (s, _) in enumerate(offsets):
        starts.setdefault(s, i)
    ends = {e: i for i, (_, e) in enumerate(offsets)}
    first, last = starts.get(start), ends.get(end)
    if first is None and last is None:
        return None, f"offsets {start}:{end} ({text[start:end]!r}) neither start nor end on a word boundary"
    if first is None:
        return None, f"offsets {start}:{end} ({text[start:end]!r}) start inside a word"
    if last is None:
        return None, f"offsets {start}:{end} ({text[start:end]!r}) end inside a word"
    if last < first:
        return None, f"offsets {start}:{end} cover no word"
    return (first, last + 1), None


def _from_utf16(text: str, start: int, end: int, expected: str | None) -> tuple[int, int] | None:
    if expected is None:
        return None
    table = utf16_to_code_points(text)
    if start in table and end in table and text[table[start]:table[end]] == expected:
        return table[start], table[end]
    return None
