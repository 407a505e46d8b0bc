"""Turning query results into text: aligned tables, JSON, CSV and Markdown.

No pandas here: the read-only commands must start fast.
"""
from __future__ import annotations

import csv
import io
import json
import math
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Sequence

from lossdb.palette import DIM_RGB, LOSS_RGB
from lossdb.queries.display import BOOK_LISTS, book_view, loss_scale

FORMATS = ("table", "json", "csv", "markdown")
ELLIPSIS = "..."


def _cell(value: Any) -> str:
    """A value as table text: the one place every table, heading and per-token cell that goes
    to a terminal passes through (JSON and CSV keep the data as it is)."""
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e-3 or abs(value) >= 1e6 else f"{value:.4f}".rstrip("0").rstrip(".")
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_cell(v) for v in value) + "]"
    if isinstance(value, dict):  # a struct or a JSON object (runs' params) as JSON, not Python's repr
        return _CONTROL.sub(_escaped, json.dumps(_plain(value), ensure_ascii=False, default=_json_default))
    if isinstance(value, datetime):  # to the second, as runs and labels both show when; JSON and CSV keep it whole
        return f"{value:%Y-%m-%d %H:%M:%S}"
    return _CONTROL.sub(_escaped, str(value))


# C0 and C1 control characters and DEL: a word or run name holding ESC ... would otherwise
# drive the terminal (retitle it, clear it, recolour it) instead of being shown.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(match: re.Match) -> str:
    char = match.group()
    return _NAMED.get(char) or f"\\x{ord(char):02x}"


def _json_default(value: Any):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def _plain(value: Any) -> Any:
    """A value as JSON holds it: NaN and infinities null (as clean_float), Decimals numbers,
    lists and structs element by element."""
    if isinstance(value, float):
        return clean_float(value)
    if isinstance(value, Decimal):
        return clean_float(float(value))
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def to_json(value: Any) -> str:
    return json.dumps(_plain(value), ensure_ascii=False, indent=2, default=_json_default, allow_nan=False)


def _csv_cell(value: Any) -> Any:
    """A value as a CSV cell: lists and structs as JSON text (not Python's repr), dates in ISO 8601."""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(_plain(value), ensure_ascii=False, default=_json_default, allow_nan=False,
                          separators=(",", ":"))
    if isinstance(value, (datetime, date)):
        return _json_default(value)
    return value


def clean_float(value: float | None) -> float | None:
    """NaN and infinities are not JSON; they become null."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return value


# --- any result: runs, sql, analysis tables -------------------------------------------------


def result(columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str) -> str:
    if fmt == "json":
        return to_json([dict(zip(columns, row)) for row in rows])
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[_csv_cell(v) for v in row] for row in rows])
        return buffer.getvalue().rstrip("\n")
    cells = [[_cell(v) for v in row] for row in rows]
    if fmt == "markdown":
        return markdown_table(list(columns), cells)
    return aligned_table(list(columns), cells)


EXPLAIN_COLUMNS = ["explain_key", "explain_value"]


def query_plan(rows: Sequence[Sequence[Any]]) -> str:
    """EXPLAIN's result as DuckDB's own shell prints it: each plan drawn over its lines (a table
    cell would show it as one line of '\n's). Control characters other than newlines stay escaped."""
    return "\n\n".join("\n".join(_cell(line) for line in str(value).splitlines()) for _, value in rows)


def aligned_table(header: list[str], rows: list[list[str]]) -> str:
    header = [_cell(h) for h in header]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    def escape(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(escape(_cell(h)) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(escape(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# --- lossdb top: the book's per-sequence table -----------------------------------------------

ROWS = BOOK_LISTS  # the book's display rule (first special token dropped): lossdb.queries.display.book_view


def sample_table(record: dict, width: int | None, *, colour=None) -> str:
    """Rows tokens / labels / preds / losses, one column per position, elided in the middle
    with '...' (as pandas does) when wider than `width` characters; a search's matches
    (`positions`) stay in view, with their neighbours."""
    columns = book_view(record)
    cells = {
        "tokens": [_cell(t) for t in columns["tokens"]], "labels": [_cell(t) for t in columns["labels"]],
        "preds": [_cell(t) for t in columns["preds"]],
        "losses": [f"{x:.2f}" for x in columns["losses"]],
    }
    n = len(cells["tokens"])
    widths = [max(len(str(i)), *(len(cells[r][i]) for r in ROWS)) for i in range(n)]
    # the book's column i is store position i + 1 (book_view drops the leading special token)
    matches = [p - 1 for p in record.get("positions") or [] if 0 < p <= n]
    shown = _visible_columns(widths, width, label_width=len("tokens"), keep=matches)
    header = [str(i) if i is not None else ELLIPSIS for i in shown]
    col_widths = [widths[i] if i is not None else len(ELLIPSIS) for i in shown]
    lines = [" " * len("tokens") + "  " + "  ".join(h.rjust(w) for h, w in zip(header, col_widths))]
    for row in ROWS:
        parts = []
        for i, w in zip(shown, col_widths):
            text = ELLIPSIS if i is None else cells[row][i]
            padded = text.rjust(w)
            if colour and row == "losses" and i is not None:
                padded = colour(padded, columns["losses"][i])
            parts.append(padded)
        lines.append(row.ljust(len("tokens")) + "  " + "  ".join(parts))
    return "\n".join(line.rstrip() for line in lines)


def _visible_columns(widths: list[int], width: int | None, *, label_width: int,
                     keep: Sequence[int] = ()) -> list[int | None]:
    """Column indices to show; None marks a '...' column. The first and last k columns, and k
    on each side of every column of `keep`, for the largest k that fits (the columns of `keep`
    themselves are shown even at k = 0)."""
    n = len(widths)

    def total(indices: list[int | None]) -> int:
        return label_width + sum(2 + (widths[i] if i is not None else len(ELLIPSIS)) for i in indices)

    def columns(k: int) -> list[int | None]:
        chosen = set(range(min(k, n))) | set(range(max(n - k, 0), n))
        for c in keep:
            chosen |= set(range(max(c - k, 0), min(c + k + 1, n)))
        shown: list[int | None] = []
        for i in sorted(chosen):
            if (shown[-1] if shown else -1) != i - 1:
                shown.append(None)  # a gap: the columns between are elided
            shown.append(i)
        return shown + ([None] if not shown or shown[-1] != n - 1 else [])

    everything: list[int | None] = list(range(n))
    if not width or total(everything) <= width:
        return everything
    best = columns(0)  # the columns of `keep` alone (without any: just '...')
    for k in range(1, n // 2 + 1):
        candidate = columns(k)
        if total(candidate) > width:
            break
        best = candidate
    return best


def terminal_colour(records: list[dict], stream=None):
    """The colour hook for `sample_table` when `stream` (default stdout) is a terminal that
    shows colour (rich decides: it honours NO_COLOR, FORCE_COLOR and TERM), else None. Losses
    go from dim (0) to bold red (the highest loss among `records`)."""
    import sys

    from rich.color import Color, ColorSystem
    from rich.console import Console
    from rich.style import Style

    console = Console(file=stream or sys.stdout)
    if not console.is_terminal or console.no_color or console.color_system is None:
        return None
    system = {"standard": ColorSystem.STANDARD, "256": ColorSystem.EIGHT_BIT, "truecolor": ColorSystem.TRUECOLOR,
              "windows": ColorSystem.WINDOWS}[console.color_system]
    scale = loss_scale(records) or 1.0
    low, high = DIM_RGB, LOSS_RGB

    def colour(text: str, loss: float) -> str:
        share = min(1.0, max(0.0, loss / scale))
        if share < 0.005:
            style = Style(dim=True)
        else:
            rgb = tuple(round(a + (b - a) * share) for a, b in zip(low, high))
            style = Style(color=Color.from_rgb(*rgb), bold=share > 0.5)
        return style.render(text, color_system=system)

    return colour


# The sequence scores beside total_loss that a record may carry (`top` ranks by any of them):
# the table's heading shows them, and so do JSON and CSV.
SCORES = ("mean_loss", "label_quality")


def sample_heading(record: dict, version: str = "gold") -> str:
    """`#1  seq_id 9376  total_loss 51.90 ...  run panx`, and the label version where it is not gold."""
    extra = "".join(f"  {k} {record[k]:.3f}" for k in SCORES if record.get(k) is not None)
    judged = f"  labels {_cell(version)}" if version != "gold" else ""
    return (f"#{record['rank']}  seq_id {record['seq_id']}  total_loss {record['total_loss']:.2f}{extra}  "
            f"run {_cell(record['run_id'])}{judged}")


def top_json(records: list[dict]) -> str:
    return to_json([
        {"run": r["run_id"], "seq_id": r["seq_id"], "total_loss": clean_float(r["total_loss"]),
         **{k: clean_float(r[k]) for k in SCORES if k in r}, **book_view(r)}
        for r in records
    ])


def top_csv(records: list[dict]) -> str:
    """Long format: one line per displayed position of each sequence; `position` is the token's
    position in the store (tokens.position: the dropped leading special token is 0), so the rows
    join with the tokens table."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    scores = [k for k in SCORES if not records or k in records[0]]  # an empty result keeps the columns
    writer.writerow(["rank", "run", "seq_id", "total_loss", *scores, "position", "token", "label", "pred", "loss"])
    for r in records:
        columns = book_view(r)
        for i, token in enumerate(columns["tokens"]):
            writer.writerow([r["rank"], r["run_id"], r["seq_id"], r["total_loss"], *(r[k] for k in scores), i + 1, token,
                             columns["labels"][i], columns["preds"][i], columns["losses"][i]])
    return buffer.getvalue().rstrip("\n")


def top_markdown(records: list[dict], version: str = "gold") -> str:
    blocks = []
    for r in records:
        columns = book_view(r)
        header = [""] + [str(i) for i in range(len(columns["tokens"]))]
        rows = [[name] + [f"{x:.2f}" if name == "losses" else _cell(x) for x in columns[name]] for name in ROWS]
        blocks.append(f"**{sample_heading(r, version)}**\n\n" + markdown_table(header, rows))
    return "\n\n".join(blocks)
