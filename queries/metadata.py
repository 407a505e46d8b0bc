"""Annotation metadata: per-sequence tables loaded from CSV, Parquet or JSON Lines (annotator,
source document, review status, ...), joined to sequences by their stable key.

`annotate` loads a file into a table of its own (default name ``metadata``) with one extra
column, ``seq_key``, the key every run's sequences carry (sequences.seq_key: the source's id
where it has one, else the md5 of the words), so ad-hoc SQL joins it to any run::

    SELECT m.annotator, avg(s.total_loss) FROM sequence_losses s JOIN metadata m USING (seq_key) GROUP BY 1

and `top_where` / `meta_groups` filter and group `top` by a metadata column. The table and its
columns are names a user chose: they are checked against the catalog and quoted by
lossdb.queries.sqlnames, the one place identifiers enter SQL text; values are always bound.
"""
from __future__ import annotations

import re
from pathlib import Path

import duckdb

from lossdb import sql
from lossdb.errors import InputError, StoreError, UsageError, first_line
from lossdb.text import counted

from .analysis import run_labels, with_token_lists
from .core import check_n, check_ranking, resolve_run
from .db import transaction
from .result import Result, execute, named, query_error
from .sqlnames import TABLE_NAME, quote_identifier

MATCHES = ("auto", "id", "text", "seq_id")
DEFAULT_TABLE = "metadata"
READERS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet",
           ".jsonl": "json", ".ndjson": "json", ".json": "json"}


def _run(con, text: str, params: dict | None = None) -> None:
    try:
        con.execute(text, params) if params else con.execute(text)
    except duckdb.Error as e:
        raise query_error(e) from e


def annotations(con) -> Result:
    """The metadata tables loaded by `lossdb annotate`: name, source file, key column, how keys
    matched (id, text or seq_id), rows and matched rows, when."""
    return named(con, "annotations")


def table_columns(con, table: str) -> list[str]:
    return named(con, "table_columns", {"table": table}).column("column_name")


def _registered(con) -> list[str]:
    return annotations(con).column("name")


# --- loading -------------------------------------------------------------------------------------


def _check_name(con, name: str, replace: bool) -> None:
    if not isinstance(name, str) or not TABLE_NAME.fullmatch(name):
        raise UsageError(f"name {name!r} is not a plain table name",
                         "use letters, digits and underscores, starting with a letter, e.g. 'review'", parameter="name")
    registered = [n.lower() for n in _registered(con)]
    taken = set(named(con, "catalog_names").column("name"))
    if name.lower() in registered:
        if not replace:
            raise StoreError(f"metadata table {name!r} already exists in this store",
                             "replace it, or choose another name", parameter="replace")
    elif name.lower() in taken:
        raise UsageError(f"{name!r} is already a table or view of this store, and not one that annotate loaded "
                         "(replace only replaces those)", "choose another name for the metadata table", parameter="name",
                         cli_message=f"{name!r} is already a table or view of this store, and not one that annotate "
                                     "loaded (--replace only replaces those)")


def _reader(path: Path) -> str:
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise InputError(f"cannot tell the format of {path} from its name",
                         "pass a .csv, .tsv, .parquet or .jsonl file")
    return reader


def _load(con, path: Path) -> list[tuple[str, str]]:
    if not path.exists():
        raise InputError(f"no file {path}", "check the path of the metadata file")
    if path.is_dir():
        raise InputError(f"{path} is a folder", "pass a .csv, .tsv, .parquet or .jsonl file")
    try:
        con.execute(sql.read(f"annotate_read_{_reader(path)}"), {"path": literal_path(path)})
    except duckdb.Error as e:
        raise InputError(f"cannot read {path}: {first_line(e)}", "check that the file is what its name says") from e
    found = named(con, "annotate_columns")
    columns = list(zip(found.column("column_name"), found.column("data_type")))
    if not columns:
        raise InputError(f"{path} has no columns", "give the file a header row")
    return columns


def literal_path(path: Path) -> str:
    """`path` as DuckDB's readers take it to mean exactly that one file: they expand globs
    ('review*.csv' would read every match, 'review[1].csv' would read review1.csv), so each
    glob character is written as a one-character class ('[*]'), and the path is made absolute
    (nor is 'x:/...' taken for a URL)."""
    return re.sub(r"[*?\[{}]", lambda m: f"[{m.group()}]", str(path.resolve()))


def _key_column(columns: list[tuple[str, str]], key: str, path: Path) -> tuple[str, str]:
    names = [c for c, _ in columns]
    if key in names:
        return columns[names.index(key)]
    folded = [c for c in names if c.lower() == key.lower()]
    if len(folded) == 1:
        return columns[names.index(folded[0])]
    raise InputError(f"{path} has no column {key!r} (columns: {', '.join(names)})", "name the key column", parameter="key")


def _keyed(con, key: str, match: str, run_id: str | None) -> dict:
    """Key the loaded file's rows (annotate_keyed); its counts: n_rows, n_matched, n_shared."""
    text = sql.read("annotate_keyed").replace("{key}", quote_identifier(key))
    _run(con, text, {"match": match, "run": run_id})
    return {k: int(v) for k, v in named(con, "annotate_match_counts").one().items()}


def _check_conflicts(con, path: Path, key: str, match: str) -> None:
    """Refuse rows that give one sequence key different values (beside the key column): the table
    joins by key, so every sequence with that key would be counted once per row (sentences
    repeated word for word share their key where the source has no ids)."""
    found = execute(con, sql.read("annotate_conflicts").replace("{key}", quote_identifier(key))).records()
    if not found:
        return
    c = found[0]
    why = " (sentences repeated word for word share it where the data has no ids)" if match != "id" else ""
    more = f"; {counted(c['n_keys'] - 1, 'other key')} too" if c["n_keys"] > 1 else ""
    raise InputError(
        f"data rows {c['first_row']} and {c['other_row']} of {path.name} ({key} {c['first_given']} and "
        f"{c['other_given']}) give different values to one sequence key{why}, and metadata is joined to the runs "
        f"by key{more}",
        "give such rows the same values, or ingest the data with an id per sequence (JSON Lines or Parquet, "
        "--id-column) and match by id")


def annotate(con, path, *, key: str, match: str = "auto", name: str = DEFAULT_TABLE, replace: bool = False,
             run: str | None = None) -> Result:
    """Load per-sequence metadata from `path` (CSV/TSV, Parquet, or JSON Lines) into table `name`.

    `key` is the file's column that names each row's sequence; `match` says how:

    - ``"id"``: the source's id column (ingest --id-column; sequences.source_id);
    - ``"text"``: the sequence's words, as a list or a string split on white space;
    - ``"seq_id"``: the row index in the source of run `run` (default: the newest), for sources
      without ids (CoNLL files);
    - ``"auto"``: text for a list column, else id if any key matches a source id, else text.

    The table gets the file's columns plus ``seq_key``, the stable key of the matched
    sequences, so it joins every run over the same data. Replacing a table of that name takes
    `replace`. Needs a store opened for writing. Returns one row: name, file, key_column,
    match_by, run (whose row indices matched, with seq_id), n_rows, n_matched (rows naming a
    stored sequence), n_shared (of those, rows naming a sentence that a run holds several times,
    word for word and without an id: one key, so their values go to every copy).

    Rows that give one key different values are refused; rows that repeat a key and its values
    are stored once, so a join by key counts each sequence once.
    """
    if match not in MATCHES:
        raise UsageError(f"unknown match {match!r}", f"choose one of {', '.join(MATCHES)}", parameter="match")
    path = Path(path)
    if not path.exists():  # the file first: a table name taken matters only for a file that is there
        raise InputError(f"no file {path}", "check the path of the metadata file")
    if path.is_file() and path.stat().st_size == 0:
        raise InputError(f"{path} is empty", "give it a header row and a row per sequence")
    _check_name(con, name, replace)
    run_id = resolve_run(con, run) if match == "seq_id" else None
    try:
        columns = _load(con, path)
        key, key_type = _key_column(columns, key, path)
        if any(c.lower() == "seq_key" for c, _ in columns):
            raise InputError(f"{path} has a column named seq_key, which lossdb adds itself", "rename that column")
        tried = match
        if match == "auto":
            if key_type.endswith("[]"):
                match = tried = "text"
            else:
                match, tried = ("id", "id") if _keyed(con, key, "id", None)["n_matched"] else ("text", "id or text")
        counts = _keyed(con, key, match, run_id)
        n_rows, n_matched = counts["n_rows"], counts["n_matched"]
        if n_rows == 0:  # (with replace it would empty the table that is there)
            raise InputError(f"{path} has no rows, only its header", "annotate with a file that has metadata rows")
        if n_matched == 0:
            others = [m for m in ("id", "text", "seq_id") if m not in tried.split(" or ")]
            hint = ("check the row indices against the run (lossdb runs)" if match == "seq_id" else
                    f"name the column that names the sequences as the key, or match by {' or '.join(others)}")
            cli_hint = ("check the row indices against the run (lossdb runs, --run)" if match == "seq_id" else
                        f"name the column that names the sequences (--key), or try "
                        f"{' or '.join(f'--match {m}' for m in others)}")
            raise InputError(f"no row of {path} names a sequence of this store (matched by {tried})", hint,
                             cli_hint=cli_hint)
        _check_conflicts(con, path, key, match)
        table = quote_identifier(name)
        with transaction(con):
            if replace:
                _run(con, sql.read("annotate_drop").replace("{table}", table))
            _run(con, sql.read("annotate_create").replace("{table}", table))
            _run(con, sql.read("annotate_unregister"), {"name": name})
            _run(con, sql.read("annotate_register"), {
                "name": name, "source": str(path), "key_column": key, "match_by": match,
                "n_rows": n_rows, "n_matched": n_matched})
    finally:  # the staging tables go, loaded or refused
        _run(con, sql.read("annotate_cleanup"))
    return Result(["name", "source", "key_column", "match_by", "run", "n_rows", "n_matched", "n_shared"],
                  [(name, str(path), key, match, run_id, n_rows, n_matched, counts["n_shared"])])


# --- reading: filter and group by a metadata column -----------------------------------------------------


def resolve_column(con, spec: str) -> tuple[str, str]:
    """(table, column) for 'column' or 'table.column': a column of a registered metadata table
    (for a bare column: the table 'metadata' if it has one, else the only table that does)."""
    if not isinstance(spec, str) or not spec:
        raise UsageError("a metadata column name is empty", "e.g. annotator=anna", parameter="where")
    registered = _registered(con)
    if not registered:
        raise StoreError("this store has no metadata", "load some with `lossdb annotate FILE --key COLUMN`")
    table, dot, column = spec.partition(".")
    if dot and table in registered:
        if column not in table_columns(con, table):
            raise UsageError(f"metadata table {table!r} has no column {column!r}",
                             f"its columns: {', '.join(table_columns(con, table))}")
        return table, column
    having = [t for t in registered if spec in table_columns(con, t)]
    if not having:
        listing = "; ".join(f"{t}: {', '.join(c for c in table_columns(con, t) if c != 'seq_key')}" for t in registered)
        raise UsageError(f"no metadata column {spec!r}", f"metadata columns are {listing}")
    if len(having) > 1:
        if DEFAULT_TABLE in having:
            return DEFAULT_TABLE, spec
        raise UsageError(f"metadata column {spec!r} is in tables {', '.join(having)}",
                         f"name the table too, e.g. {having[0]}.{spec}")
    return having[0], spec


def top_where(con, n: int = 3, where=None, *, run: str | None = None, by: str = "total_loss",
              labels: str = "gold") -> Result:
    """`top` among the sequences whose metadata meets every condition of `where` (a dict or
    (column, value) pairs; a value matches the column's value as text): rank, run_id, seq_id,
    total_loss, mean_loss, label_quality and the ordered tokens / labels / preds / losses."""
    check_n(n)
    check_ranking(by)
    pairs = list(where.items()) if isinstance(where, dict) else list(where or [])
    if not pairs:
        raise UsageError("no metadata condition given", "e.g. where={'annotator': 'anna'}", parameter="where")
    run_id, labels = run_labels(con, run, labels)
    conditions, params = [], {"run": run_id, "labels": labels, "by": by, "n": n}
    for i, (spec, value) in enumerate(pairs):
        table, column = resolve_column(con, spec)
        conditions.append(f"s.seq_key IN (SELECT seq_key FROM {quote_identifier(table)} "
                          f"WHERE CAST({quote_identifier(column)} AS VARCHAR) = $v{i})")
        params[f"v{i}"] = str(value)
    text = sql.read("top_where_meta").replace("{conditions}", " AND ".join(conditions))
    return with_token_lists(con, execute(con, text, params), run_id, labels)


def meta_groups(con, column: str, *, run: str | None = None, by: str = "total_loss", labels: str = "gold") -> Result:
    """The run's sequences grouped by a metadata column's value (NULL: no metadata), ranked by
    `by` (mean total loss or mean loss highest first, mean label quality lowest first):
    n_sequences, mean_total_loss, mean_loss, mean_label_quality, n_errors, error_rate,
    n_sequences_with_errors. mean_loss here is the group's loss per labelled token (its tokens'
    total over their number, as summary's), not the mean of its sequences' mean_loss."""
    check_ranking(by)
    run_id, labels = run_labels(con, run, labels)
    table, name = resolve_column(con, column)
    text = (sql.read("meta_groups").replace("{table}", quote_identifier(table))
            .replace("{column}", quote_identifier(name)).replace("{alias}", quote_identifier(name)))
    return execute(con, text, {"run": run_id, "labels": labels, "by": by})


def metadata_table(con, name: str = DEFAULT_TABLE) -> Result:
    """The rows of metadata table `name`."""
    if name not in _registered(con):
        names = _registered(con)
        raise StoreError(f"no metadata table {name!r} in this store",
                         f"tables: {', '.join(names)}" if names else "load one with `lossdb annotate FILE --key COLUMN`")
    return execute(con, sql.read("metadata_rows").replace("{table}", quote_identifier(name)))


__all__ = ["DEFAULT_TABLE", "MATCHES", "annotate", "annotations", "meta_groups", "metadata_table",
           "resolve_column", "top_where"]
