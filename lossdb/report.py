"""The HTML report: one self-contained file (styles, script, data and figures inline; nothing
fetched from the network) that shows a run the way an analyst would rather look than read.

    >>> from lossdb import report
    >>> report.build(con, run="dev", n=50).save("report.html")

Every number in it comes from the same query functions the CLI prints (lossdb.queries); this
module only gathers their Results and lays them out. It stays small whatever the store's
size: the top-n sequences of each ranking and aggregates, never every token.
"""
from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any, Callable

from lossdb import outfile, plots, queries
from lossdb.errors import UsageError
from lossdb.palette import css_rgb
from lossdb.queries import analysis, compare, display, metadata, rankings
from lossdb.queries.core import RANKINGS
from lossdb.queries.result import Result
from lossdb.text import counted
from lossdb.version import __version__

_RANKING_NAMES = {"total_loss": "total loss", "mean_loss": "mean loss", "label_quality": "label quality"}


@dataclass
class Report:
    """A rendered report: ``html`` is the whole page; ``save(path)`` writes it; in Jupyter it
    renders inline (in an iframe, so its styles and script stay its own)."""

    html: str
    run: str
    against: str | None = None
    sections: list[str] = field(default_factory=list)

    def save(self, path: str | Path, *, force: bool = False) -> Path:
        """Write the page to `path` (.html): whole or not at all, replacing an existing file only
        with `force` (lossdb.outfile's rule)."""
        check_path(path, force=force)
        with outfile.replacing(path, force=force) as tmp:
            tmp.write_text(self.html, encoding="utf-8")
        return Path(path)

    def _repr_html_(self) -> str:
        return ('<iframe title="lossdb report" style="width:100%;height:720px;border:1px solid #d9dee5" '
                f'sandbox="allow-scripts" srcdoc="{html.escape(self.html, quote=True)}"></iframe>')

    def __repr__(self) -> str:
        against = f" against {self.against!r}" if self.against else ""
        return f"<lossdb.Report run {self.run!r}{against}: {len(self.html) / 1024:.0f} KiB>"


def check_path(path: str | Path, *, force: bool = False) -> Path:
    """`path` if a report may be written there: an .html (or .htm) file, new unless `force`."""
    if Path(path).suffix.lower() not in (".html", ".htm"):
        raise UsageError(f"{Path(path).name} is not an .html file, and a report is HTML",
                         f"name it {Path(path).with_suffix('.html').name}", parameter="path")
    return outfile.check_new(path, force=force)


# --- gathering ------------------------------------------------------------------------------------


def build(con, *, run: str | None = None, against: str | None = None, n: int = 50, labels: str = "gold") -> Report:
    """Query the store and render the report of `run` (default: the newest complete run),
    judged against label version `labels`; with `against`, also the sequences whose loss
    changed most between the two runs (both judged against `labels`)."""
    data = collect(con, run=run, against=against, n=n, labels=labels)
    page, sections = render(data)
    return Report(page, data["run"]["run_id"], data["against"], sections)


def collect(con, *, run: str | None = None, against: str | None = None, n: int = 50,
            labels: str = "gold") -> dict[str, Any]:
    """Everything the report shows: the Results of the query functions the CLI prints, each
    judged against label version `labels`."""
    from lossdb.queries import entities  # numpy loads here: `import lossdb` stays light

    queries.check_n(n)
    run_id, labels = queries.run_labels(con, run, labels)
    other = None
    if against is not None:
        other = queries.resolve_run(con, against, "against")
        if other == run_id:
            raise UsageError(f"against names the report's own run {run_id!r}", "choose another run (see `lossdb runs`)",
                             parameter="against", cli_message=f"--against names the report's own run {run_id!r}")
    record = next(r for r in queries.runs(con).records() if r["run_id"] == run_id)
    tops = {by: queries.top(con, n, run=run_id, by=by, labels=labels).records() for by in RANKINGS}
    seq_ids = sorted({r["seq_id"] for rows in tops.values() for r in rows})
    entity_scores, entity_errors = entities.scores_and_errors(con, run=run_id, labels=labels)
    return {
        "run": record,
        "labels": labels,
        "against": other,
        "n": n,
        "tops": tops,
        "details": display.sequence_details(con, seq_ids, run=run_id, labels=labels).records(),
        "spans": display.sequence_spans(con, seq_ids, run=run_id, labels=labels).records(),
        "entity_scores": entity_scores,
        "entity_errors": entity_errors,
        "loss_by_label": analysis.loss_by_label(con, run=run_id, labels=labels),
        "loss_by_token": analysis.loss_by_token(con, n, run=run_id, labels=labels),
        "confusion": analysis.confusion_long(con, run=run_id, labels=labels),
        "label_issues": analysis.label_issues(con, n, run=run_id, labels=labels),
        "metadata": [(table, column, metadata.meta_groups(con, f"{table}.{column}", run=run_id, labels=labels))
                     for table, column in _metadata_columns(con)],
        "compare": compare.compare_sequences(con, other, run_id, n=n, labels=labels) if other else None,
        "histogram": display.loss_histogram(con, run=run_id, labels=labels),
        "datamap": _group_datamap(con, record.get("group_name")),
    }


def _group_datamap(con, group: str | None):
    """The data map's points of the run's group (lossdb datamap), when it belongs to one."""
    if group is None:
        return None
    from lossdb.queries import dynamics

    return dynamics.datamap(con, group)


def _metadata_columns(con) -> list[tuple[str, str]]:
    """(table, column) of every column `lossdb annotate` added, but the keys."""
    out = []
    for row in metadata.annotations(con).records():
        skip = {"seq_key", row["key_column"]}
        out += [(row["name"], c) for c in metadata.table_columns(con, row["name"]) if c not in skip]
    return out


# --- rendering -------------------------------------------------------------------------------------


def _asset(name: str) -> str:
    return resources.files("lossdb").joinpath("report_assets", name).read_text("utf-8")


def esc(value: Any) -> str:
    """Any value as HTML text: every <, >, &, and quote escaped."""
    return html.escape("" if value is None else str(value), quote=True)


def _script_json(value: Any) -> str:
    """JSON safe inside <script>: no '<' can close the element or open a comment."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _num(value: Any, digits: int) -> str:
    if value is None or isinstance(value, float) and not math.isfinite(value):
        return "n/a"
    return f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"


_LONG_TEXT = ("text", "suspected")


def table(result, *, digits: dict[str, int] | None = None, caption: str | None = None, limit: int | None = None) -> str:
    """A Result as a sortable HTML table; numeric cells carry their raw value for sorting."""
    digits = digits or {}
    rows = result.rows[:limit] if limit else result.rows
    numeric = [all(isinstance(r[i], (int, float)) and not isinstance(r[i], bool) for r in rows if r[i] is not None)
               and any(r[i] is not None for r in rows) for i in range(len(result.columns))]
    head = "".join(f'<th{" class=n" if numeric[i] else ""} scope="col">{esc(c)}</th>' for i, c in enumerate(result.columns))
    body = []
    for row in rows:
        cells = []
        for i, (name, value) in enumerate(zip(result.columns, row)):
            if numeric[i] and value is not None:
                shown = _num(value, digits.get(name, 3 if isinstance(value, float) else 0))
                raw = value if not isinstance(value, float) or math.isfinite(value) else ""
                cells.append(f'<td class=n data-v="{raw}">{shown}</td>')
            elif isinstance(value, (list, tuple)):
                cells.append(f"<td>{esc(' '.join(str(v) for v in value))}</td>")
            elif name in _LONG_TEXT:
                cells.append(f"<td class=text>{esc(value)}</td>")
            else:
                cells.append(f"<td>{esc(value)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return (f'<div class=scroll><table class="t sortable">{cap}<thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def _run_section(record: dict, against: str | None, labels: str = "gold") -> str:
    model = record["model"] + (f" @ {record['model_revision'][:12]}" if record.get("model_revision") else "")
    created = record["created_at"]
    when = created.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if isinstance(created, datetime) else created
    items = [
        ("run", record["run_id"]), ("model", model), ("data", record["data_source"]), ("split", record.get("split") or "-"),
        ("sequences", _num(record.get("n_sequences"), 0)), ("tokens", _num(record.get("n_tokens"), 0)),
        ("scored in windows", _num(record.get("n_windowed"), 0)), ("truncated", _num(record.get("n_truncated"), 0)),
        ("labels", " ".join(record.get("label_names") or [])), ("ingested", when),
        ("lossdb", f"{record.get('lossdb_version')} (ingest), {__version__} (report)"),
    ]
    if against:
        items.insert(1, ("compared with", against))
    if labels != "gold":  # every figure below is judged against it
        items.insert(1, ("judged against", f"label version {labels}"))
    body = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in items)
    return f'<section id=run><h2>Run</h2><dl class=run>{body}</dl></section>'


def _sequence_data(data: dict) -> dict:
    details = {d["seq_id"]: d for d in data["details"]}
    spans: dict[int, list[dict]] = {}
    for s in data["spans"]:
        spans.setdefault(s["seq_id"], []).append(s)
    labels = list(data["run"]["label_names"] or [])
    label_at = {name: i for i, name in enumerate(labels)}
    seqs: dict[str, dict] = {}
    highest = 0.0
    for rows in data["tops"].values():
        for r in rows:
            key = str(r["seq_id"])
            if key in seqs:
                continue
            detail = details.get(r["seq_id"], {})
            # As `lossdb top` and the book show it: the first special token dropped.
            view = display.book_view(r)
            word_index = display.book_positions(detail.get("word_index"))
            top_probs = display.book_positions(detail.get("top_probs"))
            losses = [round(x, 4) for x in view["losses"]]
            highest = max([highest, *losses])
            seqs[key] = {
                "id": r["seq_id"], "total": _finite(r["total_loss"]), "mean": _finite(r["mean_loss"]),
                "lq": _finite(r["label_quality"]), "errors": detail.get("n_errors"), "labelled": detail.get("n_labelled"),
                "t": view["tokens"], "g": view["labels"], "p": view["preds"], "l": losses,
                "k": [[v for item in probs for v in (label_at.get(item["label"], 0), round(float(item["p"]), 3))]
                      for probs in top_probs],
                "gs": _token_spans(spans.get(r["seq_id"], []), "gold", word_index),
                "ps": _token_spans(spans.get(r["seq_id"], []), "pred", word_index),
                "w": list(detail.get("words") or []),
            }
    return {
        "labels": labels, "scale": round(max(highest, 1e-6), 4), "rgb": css_rgb(),
        "orders": {by: [str(r["seq_id"]) for r in rows] for by, rows in data["tops"].items()},
        "seqs": seqs,
    }


def _finite(value):
    return value if isinstance(value, (int, float)) and math.isfinite(value) else None


def _token_spans(spans: list[dict], side: str, word_index: list) -> list[list]:
    """Word spans [start_word, end_word) as displayed-token spans [first, last, type]."""
    out = []
    for s in spans:
        if s["side"] != side:
            continue
        inside = [i for i, w in enumerate(word_index) if w is not None and s["start_word"] <= w < s["end_word"]]
        if inside:
            out.append([inside[0], inside[-1], s["type"]])
    return out


def _sequences_section(data: dict) -> str:
    n = len(data["tops"]["total_loss"])
    buttons = "".join(f'<button type=button data-by="{by}" aria-pressed="{str(by == "total_loss").lower()}">'
                      f'{esc(_RANKING_NAMES[by])}</button>' for by in RANKINGS)
    scale = _sequence_data(data)
    return (
        f'<section id=sequences><h2>Worst sequences</h2>'
        f'<p class=note>The {n} worst sequences by each ranking. Above each token its gold entity, below it the '
        f'predicted one (decoded as seqeval does); tokens are shaded by their loss. Hover or focus a token for its '
        f'label, prediction, loss and most probable classes. The search box keeps the sequences with a token or '
        f'word equal to what you type (case ignored; end with * for a prefix).</p>'
        f'<div class=controls><span>rank by</span>{buttons}'
        f'<input type=search id=search placeholder="filter by token or word" aria-label="filter sequences by token or word">'
        f'<span id=count></span></div>'
        f'<div class=legend><span>loss 0 <span class=scale></span> {scale["scale"]:.2f}</span>'
        f'<span><span class="swatch ent PER"></span>PER <span class="swatch ent ORG"></span>ORG '
        f'<span class="swatch ent LOC"></span>LOC <span class="swatch ent other"></span>other</span></div>'
        f'<ol class=seqs id=seqs></ol>'
        f'<noscript><p class=note>The sequences are drawn by the page\'s script; enable JavaScript to see them.</p></noscript>'
        f'<script type="application/json" id=data>{_script_json(scale)}</script>'
        f'</section>'
    )


def _figure_svg(make: Callable[[], Any]) -> str:
    return f"<figure>{plots.svg(make())}</figure>"


def _note(text: str) -> str:
    return f"<p class=note>{text}</p>"


def _entities_section(data: dict) -> str:
    truncated = data["run"].get("n_truncated") or 0
    cut = (f" The run truncated {counted(truncated, 'sequence')} (<code>--overflow truncate</code>): words past the "
           "cut were not scored and count in no figure here." if truncated else "")
    return (_note("Entity-level precision, recall and F1 per type as seqeval computes them from the word-level "
                  f"tags (<code>lossdb entities</code>).{cut}")
            + table(data["entity_scores"], digits={"precision": 3, "recall": 3, "f1": 3})
            + "<h3>Entity error types</h3>"
            + _note("Every gold entity by outcome (correct, wrong type, wrong boundary, wrong type and boundary, "
                    "missed) and every predicted entity that overlaps none (spurious), per type "
                    "(<code>lossdb entities --errors</code>).")
            + table(data["entity_errors"]))


def _losses_section(data: dict) -> str:
    by_label, by_token = data["loss_by_label"], data["loss_by_token"]
    return ('<div class=cols><div><h3>By gold label</h3>'
            + _note("Labelled tokens: count, mean and sum of the loss, and the share predicted right "
                    "(<code>lossdb loss-by label</code>, <code>lossdb plot loss-by-label</code>).")
            + table(by_label, digits={"mean": 3, "sum": 2, "accuracy": 3})
            + _figure_svg(lambda: plots.loss_by_label(by_label, version=data["labels"])) + '</div>'
            + '<div><h3>By input token</h3>'
            + _note(f"The {len(by_token)} tokens with the highest summed loss (<code>lossdb loss-by token</code>).")
            + table(by_token, digits={"mean": 3, "sum": 2}) + '</div></div>')


def _confusion_section(data: dict) -> str:
    names = list(data["run"]["label_names"] or [])
    return (_note("Labelled tokens; gold labels on the rows, predictions on the columns, each row divided by its "
                  "total (<code>lossdb confusion</code>, <code>lossdb plot confusion</code>).")
            + _figure_svg(lambda: plots.confusion(data["confusion"], labels=names, version=data["labels"])))


def _issues_section(data: dict) -> str:
    issues = data["label_issues"]
    keep = [c for c in issues.columns if c not in ("run_id", "suspects", "suspected")]
    rows = [tuple(r[c] for c in keep) + (rankings.suspected_text(r["suspected"]),) for r in issues.records()]
    return (_note("The sequences most likely to carry a label error, lowest label quality (the default ranking of "
                  "<code>lossdb issues --methods</code>) first, with what is suspected, as <code>lossdb issues</code> "
                  "shows it: the words whose labelled type the model disputes, their label, the model's type and "
                  "its probability.")
            + table(Result([*keep, "suspected"], rows), digits={"score": 4, "total_loss": 2}))


def _metadata_section(data: dict) -> str | None:
    if not data["metadata"]:
        return None
    parts = [_note("The run's sequences grouped by each metadata column that <code>lossdb annotate</code> added "
                   "(<code>lossdb top --group-by-meta COLUMN</code>); at most 30 values each.")]
    for table_name, column, result in data["metadata"]:
        more = f" (30 of {len(result)} values)" if len(result) > 30 else ""
        parts.append(f"<h3>{esc(table_name)}.{esc(column)}{esc(more)}</h3>"
                     + table(result, limit=30, digits={"mean_total_loss": 2, "mean_loss": 3, "mean_label_quality": 3,
                                                       "error_rate": 3}))
    return "".join(parts)


def _compare_section(data: dict) -> str | None:
    if data["compare"] is None:
        return None
    run_id, other = data["run"]["run_id"], data["against"]
    keep = {"rank": "rank", "seq_id_b": "seq_id", "total_loss_a": f"total_loss ({other})",
            "total_loss_b": f"total_loss ({run_id})", "delta_total_loss": "delta", "n_errors_a": f"errors ({other})",
            "n_errors_b": f"errors ({run_id})", "text": "text"}
    shown = Result(list(keep.values()), [tuple(r[c] for c in keep) for r in data["compare"].records()])
    return (_note(f"The sequences whose total loss changed most from run {esc(other)} to run {esc(run_id)} "
                  f"(matched by their source id or words); delta = {esc(run_id)} \u2212 {esc(other)}, largest change "
                  f"first (<code>lossdb compare {esc(other)} {esc(run_id)}</code>).")
            + table(shown, digits={keep["total_loss_a"]: 2, keep["total_loss_b"]: 2, "delta": 2}))


def _histogram_section(data: dict) -> str:
    return (_note("Labelled tokens by loss; the model's wrong predictions in red (<code>lossdb plot loss-hist</code>).")
            + _figure_svg(lambda: plots.loss_hist(data["histogram"], version=data["labels"])))


def _datamap_section(data: dict) -> str | None:
    from lossdb import plots

    if data.get("datamap") is None:
        return None
    group = data["run"]["group_name"]
    return (_note(f"The run belongs to group {esc(group)}: each of its sequences at its variability and confidence "
                  f"across the group's runs, coloured by correctness (<code>lossdb datamap --group {esc(group)}</code>; "
                  f"rankings: <code>lossdb issues --group {esc(group)} --method aum</code>).")
            + _figure_svg(lambda: plots.datamap(data["datamap"], title=f"Data map of group {group}")))


def render(data: dict) -> tuple[str, list[str]]:
    """The page, and the anchors of its sections in order."""
    record = data["run"]
    sections = [
        ("run", "Run", None),
        ("sequences", "Worst sequences", None),
        ("entities", "Entities", _entities_section(data)),
        ("losses", "Loss by label and by token", _losses_section(data)),
        ("confusion", "Confusion matrix", _confusion_section(data)),
        ("issues", "Likely label issues", _issues_section(data)),
        ("metadata", "Metadata", _metadata_section(data)),
        ("compare", f"Changes against {data['against']}", _compare_section(data)),
        ("histogram", "Token losses", _histogram_section(data)),
        ("datamap", "Data map", _datamap_section(data)),
    ]
    parts, anchors = [], []
    for anchor, heading, body in sections:
        if anchor == "run":
            parts.append(_run_section(record, data["against"], data.get("labels", "gold")))
        elif anchor == "sequences":
            parts.append(_sequences_section(data))
        elif body is None:
            continue
        else:
            parts.append(f"<section id={anchor}><h2>{esc(heading)}</h2>{body}</section>")
        anchors.append((anchor, heading))
    title = f"lossdb report: {record['run_id']}"
    toc = "".join(f'<a href="#{a}">{esc(t)}</a>' for a, t in anchors)
    page = (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content=\"width=device-width, initial-scale=1\">"
        "<meta http-equiv=Content-Security-Policy content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "script-src 'unsafe-inline'; img-src data:\">"
        f"<title>{esc(title)}</title><style>:root {{ --loss: {css_rgb()}; }}\n{_asset('report.css')}</style></head><body>"
        f"<header class=top><h1>{esc(title)}</h1><nav class=toc>{toc}</nav></header>"
        f"<main>{''.join(parts)}</main>"
        f"<footer>Written by lossdb {esc(__version__)} on "
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}.</footer>"
        f"<div id=tip hidden role=tooltip></div><script>{_asset('report.js')}</script></body></html>\n"
    )
    return page, [a for a, _ in anchors]
