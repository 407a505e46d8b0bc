"""Label files for review: export writes sequences out, import reads corrected labels back,
both through the one reader and writer per format (formats.py, formats_label_studio.py).

Formats (`FORMATS`):

    label-studio  a JSON list of Label Studio tasks (and, beside it, the labeling config XML);
                  import reads Label Studio's JSON export of such tasks
    conll         one `word<TAB>label` a line, a blank line between sentences, each sentence
                  headed by `# run = ...`, `# seq_id = ...`, `# seq_key = ...` comments
    jsonl         one JSON object a line: run, seq_id, seq_key, words, labels (+ preds, scores)
    parquet       the same columns in Parquet
    hf-dataset    a Hugging Face `datasets` folder (save_to_disk): id, seq_id, run, tokens,
                  ner_tags as ClassLabel(names = the run's labels), and lossdb's marker file

Writing: a file appears whole or not at all (disk full leaves nothing behind and says so);
an existing file is replaced only with `force`, and an existing folder only when it is a
dataset lossdb exported (its marker file is there): `force` never deletes anything else.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from lossdb import outfile
from lossdb.errors import InputError, UsageError

from . import formats
from . import formats_label_studio as label_studio
# what import/export callers use of the formats, from one place
from .formats import (CODE_POINTS, FORMATS, UTF16, CharSpan, ExportSequence, Record,  # noqa: F401
                      check_format, detect_format)
from .formats_label_studio import (label_studio_config, label_studio_task, offset_units, span_words,  # noqa: F401
                                   utf16_to_code_points, word_offsets)

# --- export --------------------------------------------------------------------------------


# The formats a suffix may hold, as import-labels reads them back (formats.SUFFIXES; .json
# holds JSON Lines or Label Studio's array).
_SUFFIX_HOLDS = {"conll": {"conll"}, "jsonl": {"jsonl"}, "json": {"jsonl", "label-studio"}, "parquet": {"parquet"}}


# What an export writes when no format is named, by the suffix of its file: the format that
# import-labels reads back from that suffix (.json: Label Studio's, the review tool's own).
_EXPORT_BY_SUFFIX = {"conll": "conll", "jsonl": "jsonl", "json": "label-studio", "parquet": "parquet"}


def export_format(out: str | os.PathLike, fmt: str | None) -> str:
    """`fmt` checked, or (None) the format `out`'s suffix names: review.conll is CoNLL; a name
    with no suffix this reads (or an unknown one) gets label-studio, the default."""
    if fmt is not None:
        return check_format(fmt)
    suffix = Path(out).suffix.lower()
    return _EXPORT_BY_SUFFIX.get(formats.SUFFIXES.get(suffix, ""), "label-studio") if suffix else "label-studio"


def _check_suffix(out: Path, fmt: str) -> None:
    """Refuse a file name whose suffix says another format (a CoNLL file named .jsonl would not
    import back); an unknown suffix is the user's choice."""
    if fmt == "hf-dataset" or not out.suffix:
        return
    kind = formats.SUFFIXES.get(out.suffix.lower(), "")
    held = _SUFFIX_HOLDS.get(kind)
    if held is not None and fmt not in held:
        wanted = {"conll": ".conll", "jsonl": ".jsonl", "label-studio": ".json", "parquet": ".parquet"}[fmt]
        says = _EXPORT_BY_SUFFIX[kind]
        raise UsageError(f"{out.name} names a {'/'.join(sorted(held))} file, not {fmt}",
                         f"name it {out.with_suffix(wanted).name}, or write {says} (format={says!r})",
                         cli_hint=f"name it {out.with_suffix(wanted).name} (--out), or leave out --to to write {says}",
                         parameter="out")


def write_labels(seqs: Sequence[ExportSequence], out: Path, fmt: str, *, label_names: Sequence[str], model: str,
                 force: bool = False) -> list[Path]:
    """Write `seqs` to `out` in `fmt`; returns the paths written."""
    check_format(fmt)
    if str(out) == "-":
        raise UsageError("export writes files, not standard output", "name a file to write, e.g. review.jsonl",
                         parameter="out")
    out = Path(out)
    _check_suffix(out, fmt)
    if fmt == "hf-dataset":
        _check_folder_target(out, force)
    else:
        paths = [out, out.with_suffix(".label_config.xml")] if fmt == "label-studio" else [out]
        for path in paths:
            outfile.check_new(path, force=force, parameter="out")
    if fmt == "conll":
        formats.check_conll_words(seqs)
    if fmt == "hf-dataset":
        formats.atomic_folder(out, lambda folder: formats.write_hf_dataset(seqs, folder, label_names),
                              replace=out.exists())
        return [out]
    if fmt == "label-studio":
        files = [(out, lambda f: label_studio.write_label_studio(seqs, f, model=model)),
                 (paths[1], lambda f: label_studio.write_label_studio_config(label_names, f))]
    elif fmt == "conll":
        files = [(out, lambda f: formats.write_conll(seqs, f))]
    elif fmt == "jsonl":
        files = [(out, lambda f: formats.write_jsonl(seqs, f))]
    else:
        files = [(out, lambda f: formats.write_parquet(seqs, f))]
    formats.atomic_write(files)
    return [path for path, _ in files]


def _check_folder_target(folder: Path, force: bool) -> None:
    if not folder.parent.is_dir():
        raise UsageError(f"folder {folder.parent} does not exist", "create it, or choose another path", parameter="out")
    if not folder.exists():
        return
    if not force:
        raise outfile.exists(folder, "out")
    if not formats.is_lossdb_export(folder):
        what = "a folder lossdb did not export" if folder.is_dir() else "a file, not a dataset lossdb exported"
        raise InputError(f"{folder} is {what} (no {formats.EXPORT_MARKER}); --force replaces only lossdb's own "
                          "hf-dataset exports", "choose a new folder for --out, or remove that one yourself")


# --- import --------------------------------------------------------------------------------


@dataclass
class ReadLabels:
    format: str
    records: list[Record]
    unannotated: list[str] = field(default_factory=list)  # tasks without a usable annotation
    label_names: list[str] | None = None  # what integer labels mean (a ClassLabel)


def read_labels(path: str | os.PathLike, fmt: str | None = None, *, words_column: str | None = None,
                tags_column: str | None = None, id_column: str | None = None) -> ReadLabels:
    """Every sequence in a label file. A file that cannot be read at all raises InputError;
    per-sequence problems are left to the importer, which reports them all together."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"label file {path} does not exist", "check the path")
    fmt = check_format(fmt) if fmt else detect_format(path, nameable=True)
    if fmt == "label-studio":
        if path.is_dir():
            raise InputError(f"{path} is a folder", "pass Label Studio's JSON export (a file)")
        read, label_names = label_studio.read_label_studio(path), None
    else:
        opened = formats.open_file(path, fmt, words_column=words_column, tags_column=tags_column, id_column=id_column)
        read, label_names = iter(opened), opened.label_names
    records, unannotated = [], []
    for record in read:
        if record.annotated:
            records.append(record)
        else:
            unannotated.append(record.where)
    return ReadLabels(fmt, records, unannotated, label_names)
