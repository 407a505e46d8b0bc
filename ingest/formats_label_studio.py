"""Label Studio: the reader of its JSON export and the writer of tasks for review.

Tasks. The text is the words joined by single spaces; `data` also holds the words and lossdb's
ids (run, seq_id, seq_key) so that an import maps every task back to its sequence exactly, and
the sequence's scores (total_loss, mean_loss, label_quality) for sorting in Label Studio's data
manager. The labels of the exported version are the task's annotation; the model's entities
are a prediction whose `score` is the mean confidence of the model in its word predictions
(each region carries its own mean confidence). Regions are `labels` results (from_name
"label", to_name "text") with value {start, end, text, labels: [TYPE]}.

Character offsets are Python string indices (Unicode code points). That is what Label Studio's
own converter reads (label_studio_converter slices `text[start:end]`) and what the Label Studio
editor stores since it fixed astral characters (HumanSignal/label-studio#1347,
label-studio-frontend#308). Older editors counted UTF-16 code units, so an emoji before a span
shifts it. One editor wrote a task, so the unit is decided per task from all its spans (a span
whose `text` is found at its offsets under one unit only settles it); a task whose spans fit
both units equally (no emoji before any span, or every span ambiguous) takes the unit the
file's other tasks settled, else code points. Spans are never shifted to fit: one whose text
is not at its offsets in the task's unit is refused.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator, Sequence
from xml.sax.saxutils import quoteattr

from lossdb.errors import InputError
from lossdb.queries.versions import entities, entity_types

from .formats import CODE_POINTS, UTF16, CharSpan, ExportSequence, Record, int_or_none, read_text, str_or_none

FROM_NAME, TO_NAME = "label", "text"


# --- writing tasks -------------------------------------------------------------------------


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


def write_label_studio(seqs: Sequence[ExportSequence], f, *, model: str) -> None:
    """A JSON array of tasks, one a line: diffable, and readable by any JSON reader."""
    tasks = [label_studio_task(s, model=model) for s in seqs]
    lines = ",\n".join(json.dumps(task, ensure_ascii=False, allow_nan=False) for task in tasks)
    f.write((f"[\n{lines}\n]\n" if tasks else "[]\n").encode("utf-8"))


def write_label_studio_config(label_names: Sequence[str], f) -> None:
    f.write(label_studio_config(label_names).encode("utf-8"))


# --- reading an export ---------------------------------------------------------------------


def read_label_studio(path: Path) -> Iterator[Record]:
    """One Record a task: its words or text, its regions (offset units decided per task), its
    ids; tasks without a usable annotation come as `annotated=False`."""
    try:
        tasks = json.loads(read_text(path, "Label Studio's JSON export"))
    except json.JSONDecodeError as e:
        raise InputError(f"{path} is not valid JSON ({e.msg}, line {e.lineno})",
                         "export the project from Label Studio as JSON") from None
    if isinstance(tasks, dict):
        tasks = [tasks]
    if not isinstance(tasks, list):
        raise InputError(f"{path} holds no list of Label Studio tasks", "export the project from Label Studio as JSON")
    read = [_task(path, number, task) for number, task in enumerate(tasks)]
    settled = [units for _, _, units in read if units is not None]
    # a task its spans leave open takes the unit the rest of the file settled (most tasks)
    fallback = UTF16 if settled.count(UTF16) > settled.count(CODE_POINTS) else CODE_POINTS
    for record, spans, units in read:
        if record.annotated:
            yield Record(record.where, record.words, text=record.text, spans=spans, id=record.id,
                         seq_id=record.seq_id, run=record.run, offsets=units or fallback)
        else:
            yield record


def _task(path: Path, number: int, task) -> tuple[Record, list[CharSpan], str | None]:
    where = f"{path.name}, task {number}"
    if not isinstance(task, dict):
        raise InputError(f"{where} is not a JSON object", "export the project from Label Studio as JSON")
    if isinstance(task.get("id"), int):
        where = f"{path.name}, task id {task['id']}"
    data = task.get("data") if isinstance(task.get("data"), dict) else None
    if data is None and "words" in task:  # a JSON array of records, not of tasks
        raise InputError(f"{where} is a record of words (no 'data' object), not a Label Studio task",
                         "write such records as JSON Lines (.jsonl), one object a line")
    if data is None:
        raise InputError(f"{where} has no 'data' object", "export the project from Label Studio as JSON (not JSON-MIN or CSV)")
    words = data.get("words")
    words = [str(w) for w in words] if isinstance(words, list) else None
    text = data.get("text") if isinstance(data.get("text"), str) else None
    ids = dict(id=str_or_none(data.get("seq_key")), seq_id=int_or_none(data.get("seq_id")), run=str_or_none(data.get("run")))
    annotation = _chosen_annotation(task, where)
    if annotation is None:
        return Record(where, words, text=text, annotated=False, **ids), [], None
    result = annotation.get("result")
    if result is not None and not isinstance(result, list):
        raise InputError(f"{where}: its annotation's result is {type(result).__name__}, not a list of regions",
                         "export the project from Label Studio as JSON, or fix the task's result")
    spans = []
    for region in result or []:
        if not isinstance(region, dict):
            raise InputError(f"{where}: a region of its annotation's result is {type(region).__name__}, not an object",
                             "export the project from Label Studio as JSON, or fix the task's result")
        if str(region.get("type", "")).lower() != "labels":
            continue  # relations, choices, text areas: not word labels
        value = region.get("value") if isinstance(region.get("value"), dict) else {}
        spans.append(CharSpan(value.get("start"), value.get("end"), value.get("labels"), value.get("text")))
    full_text = text if text is not None else (" ".join(words) if words is not None else None)
    units = offset_units(full_text, spans) if full_text is not None else None
    return Record(where, words, text=text, **ids), spans, units


def _chosen_annotation(task: dict, where: str) -> dict | None:
    """The annotation an import takes: ground truth if marked, else the latest one updated;
    cancelled (skipped) annotations never count."""
    annotations = task.get("annotations", task.get("completions")) or []
    if not isinstance(annotations, list):
        raise InputError(f"{where}: its annotations are {type(annotations).__name__}, not a list",
                         "export the project from Label Studio as JSON, or fix the task")
    usable = [a for a in annotations if isinstance(a, dict) and not a.get("was_cancelled") and not a.get("skipped")]
    if not usable:
        return None
    order = {id(a): k for k, a in enumerate(usable)}
    return max(usable, key=lambda a: (bool(a.get("ground_truth")), str(a.get("updated_at") or a.get("created_at") or ""),
                                      order[id(a)]))


# --- character spans to words --------------------------------------------------------------


def utf16_to_code_points(text: str) -> dict[int, int]:
    """UTF-16 code-unit offset -> code-point offset, for every offset on a character boundary."""
    table, units = {}, 0
    for i, ch in enumerate(text):
        table[units] = i
        units += 2 if ord(ch) > 0xFFFF else 1
    table[units] = len(text)
    return table


def _in_code_points(text: str, span: CharSpan) -> tuple[int, int] | None:
    start, end = span.start, span.end
    if not 0 <= start < end <= len(text):
        return None
    return (start, end) if span.text is None or text[start:end] == span.text else None


def _in_utf16(text: str, span: CharSpan, table: dict[int, int]) -> tuple[int, int] | None:
    if span.start not in table or span.end not in table:
        return None
    start, end = table[span.start], table[span.end]
    if not start < end:
        return None
    return (start, end) if span.text is None or text[start:end] == span.text else None


def _integer_offsets(span: CharSpan) -> bool:
    return all(isinstance(v, int) and not isinstance(v, bool) for v in (span.start, span.end))


def offset_units(text: str, spans: Sequence[CharSpan]) -> str | None:
    """The unit a task's offsets are in, from all its spans: CODE_POINTS, UTF16, or None when
    no span tells them apart (each fits both, or neither)."""
    table = utf16_to_code_points(text)
    only_cp = only_utf16 = 0
    for span in spans:
        if span.text is None or not _integer_offsets(span):
            continue
        cp, u16 = _in_code_points(text, span), _in_utf16(text, span, table)
        if cp is not None and u16 is None:
            only_cp += 1
        elif u16 is not None and cp is None:
            only_utf16 += 1
    if only_cp == only_utf16:
        return None
    return CODE_POINTS if only_cp > only_utf16 else UTF16


def span_words(text: str, words: Sequence[str], span: CharSpan,
               units: str = CODE_POINTS) -> tuple[tuple[int, int] | None, str | None]:
    """The words [i, j) a character span covers exactly, its offsets read in `units`
    (CODE_POINTS or UTF16), or (None, reason)."""
    if not _integer_offsets(span):
        return None, f"has no integer start/end offsets ({span.start!r}, {span.end!r})"
    start, end = span.start, span.end
    if units == UTF16:
        table = utf16_to_code_points(text)
        if start not in table or end not in table or not table[start] < table[end]:
            return None, (f"offsets {start}:{end} (in UTF-16 code units, as this task's other spans) fall outside "
                          f"the text or inside a character")
        start, end = table[start], table[end]
    elif not 0 <= start < end <= len(text):
        return None, f"offsets {start}:{end} fall outside the text ({len(text)} characters)"
    if span.text is not None and text[start:end] != span.text:
        unit = "UTF-16 code units" if units == UTF16 else "code points"
        return None, f"offsets {span.start}:{span.end} cover {text[start:end]!r} in {unit} (this task's unit), not the span's text"
    offsets = word_offsets(words)
    starts: dict[int, int] = {}
    for i, (s, _) in enumerate(offsets):
        starts.setdefault(s, i)
    ends = {e: i for i, (_, e) in enumerate(offsets)}
    first, last = starts.get(start), ends.get(end)
    if first is None or last is None:  # a selection that took in the space beside its words
        covered = text[start:end]
        trimmed = start + len(covered) - len(covered.lstrip()), end - len(covered) + len(covered.rstrip())
        if (trimmed[0], trimmed[1]) != (start, end) and trimmed[0] in starts and trimmed[1] in ends:
            first, last = starts[trimmed[0]], ends[trimmed[1]]
    if first is None and last is None:
        return None, f"offsets {start}:{end} ({text[start:end]!r}) neither start nor end on a word boundary"
    if first is None:
        return None, f"offsets {start}:{end} ({text[start:end]!r}) start inside a word"
    if last is None:
        return None, f"offsets {start}:{end} ({text[start:end]!r}) end inside a word"
    if last < first:
        return None, f"offsets {start}:{end} cover no word"
    return (first, last + 1), None
