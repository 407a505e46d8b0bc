"""Result: the columns and rows of a query, cheap to make and cheap to format.

The CLI formats rows directly (pandas costs half a second to import, more than a
whole `lossdb top`); the Python API turns a Result into a DataFrame with `.df()`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import duckdb

from lossdb import sql
from lossdb.errors import QueryError, StoreError, first_line


@dataclass
class Result:
    columns: list[str]
    rows: list[tuple]

    def __post_init__(self) -> None:
        # SELECT s.total_loss, v.total_loss: names made unique as DuckDB makes them for a
        # subquery (total_loss, total_loss_1), so that reading by name loses no column
        if len(set(self.columns)) < len(self.columns):
            self.columns = unique_names(self.columns)

    def df(self):
        import pandas as pd

        return pd.DataFrame.from_records(self.rows, columns=self.columns)

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row)) for row in self.rows]

    def column(self, name: str) -> list[Any]:
        """The values of column `name`, in row order."""
        at = self._index(name)
        return [row[at] for row in self.rows]

    def one(self) -> dict[str, Any]:
        """The first row as {column: value}: for queries that return exactly one row."""
        if not self.rows:
            raise LookupError("the query returned no row")
        return dict(zip(self.columns, self.rows[0]))

    def value(self, name: str) -> Any:
        """Column `name` of the first row."""
        self._index(name)
        return self.one()[name]

    def select(self, names) -> "Result":
        """Only the columns `names`, in that order."""
        index = [self._index(n) for n in names]
        return Result(list(names), [tuple(row[i] for i in index) for row in self.rows])

    def drop(self, names) -> "Result":
        """Every column except `names`."""
        return self.select([c for c in self.columns if c not in set(names)])

    def head(self, n: int) -> "Result":
        return Result(self.columns, self.rows[:n])

    @classmethod
    def from_records(cls, columns, records) -> "Result":
        """A Result of dicts (or objects read by key) with these columns."""
        columns = list(columns)
        return cls(columns, [tuple(r[c] for c in columns) for r in records])

    def _index(self, name: str) -> int:
        try:
            return self.columns.index(name)
        except ValueError:
            raise KeyError(f"no column {name!r} (columns: {', '.join(self.columns)})") from None

    def __len__(self) -> int:
        return len(self.rows)


def execute(con: duckdb.DuckDBPyConnection, text: str, params: dict | list | None = None) -> Result:
    """Run SQL with bound parameters; DuckDB's refusals become QueryErrors."""
    try:
        cursor = con.execute(text, params) if params else con.execute(text)
        if cursor is None or cursor.description is None:  # nothing to run, or nothing returned
            return Result([], [])
        columns = [d[0] for d in cursor.description]
        return Result(columns, cursor.fetchall())
    except duckdb.Error as e:
        raise query_error(e) from e


# Statement types that only read: SELECT covers WITH, VALUES, TABLE, FROM-first, DESCRIBE, SHOW
# and SUMMARIZE, which DuckDB's parser turns into SELECTs.
_READING_TYPES = {"SELECT"}
# PRAGMAs (and CALLs of their table functions) that read; the rest change a setting.
_READING_PRAGMAS = {
    "table_info", "show", "show_tables", "show_tables_expanded", "show_databases", "database_list",
    "database_size", "storage_info", "metadata_info", "version", "platform", "functions", "collations",
    "user_agent", "pragma_table_info", "pragma_show", "pragma_show_tables", "pragma_database_size",
    "pragma_storage_info", "pragma_metadata_info", "pragma_version", "pragma_platform", "pragma_database_list",
    "pragma_collations", "pragma_user_agent", "duckdb_tables", "duckdb_views", "duckdb_columns",
}


def check_reads_only(con: duckdb.DuckDBPyConnection, text: str, statements: list | None = None) -> None:
    """Refuse SQL that would do anything but read, before any of it runs: each statement of a
    script is judged by the type DuckDB's own parser gives it. Reading files in a SELECT
    (read_csv, read_parquet) stays allowed; writing files (COPY, EXPORT), other databases
    (ATTACH, DETACH, USE), extensions (INSTALL, LOAD), settings (SET, RESET, writing PRAGMAs)
    and the store itself are not. `statements`: the text already split (split_statements)."""
    statements = split_statements(con, text) if statements is None else statements
    for number, statement in enumerate(statements, 1):
        what = _refused(con, statement)
        if what:
            where = f" (statement {number} of {len(statements)})" if len(statements) > 1 else ""
            raise QueryError(f"{what} does not only read, and this SQL runs read-only{where}",
                             "pass write=True to run it; without it only SELECT, WITH, VALUES, DESCRIBE, SHOW, "
                             "SUMMARIZE, EXPLAIN and reading PRAGMAs run",
                             cli_hint="pass --write to run it; without it only SELECT, WITH, VALUES, DESCRIBE, SHOW, "
                                      "SUMMARIZE, EXPLAIN and reading PRAGMAs run")


def split_statements(con: duckdb.DuckDBPyConnection, text: str) -> list:
    """The statements of a script, as DuckDB's parser splits it; a syntax error is a QueryError."""
    try:
        return con.extract_statements(text)
    except duckdb.Error as e:
        raise query_error(e) from e


def _refused(con: duckdb.DuckDBPyConnection, statement) -> str | None:
    """What to call the statement in the refusal, or None where it only reads."""
    try:
        kind = statement.type.name
    except ValueError:  # a type the Python client has no name for (UPDATE EXTENSIONS): not a read
        kind = "OTHER"
    if kind in _READING_TYPES:
        return None
    words = sql.tokens(statement.query)
    first = words[0][1].upper() if words else kind
    second = words[1][1].lower() if len(words) > 1 else ""
    if kind == "MULTI" and first == "PIVOT":  # DuckDB plans a PIVOT as several statements; it reads
        return None
    if kind in ("PRAGMA", "CALL") and second in _READING_PRAGMAS and all(token != "=" for _, token in words):
        return None
    if first in ("PRAGMA", "CALL", "SET", "RESET"):
        return f"{first} {second}".strip()
    if kind == "OTHER":
        return f"{first} {second.upper()}".strip()
    if kind == "EXPLAIN":
        if second != "analyze":
            return None
        # EXPLAIN ANALYZE runs the statement it explains: judge that one.
        inner = con.extract_statements(statement.query[words[2][0]:]) if len(words) > 2 else []
        return "EXPLAIN ANALYZE" if any(_refused(con, s) for s in inner) else None
    return first


def named(con: duckdb.DuckDBPyConnection, name: str, params: dict | None = None) -> Result:
    """Run sql/queries/<name>.sql. lossdb's own SQL that names a table or column the store lacks
    means the store was changed by hand (a table dropped, a column altered): said as such,
    not with the hints for SQL the user typed."""
    try:
        return execute(con, sql.read(name), params)
    except QueryError as e:
        if isinstance(e.__cause__, (duckdb.CatalogException, duckdb.BinderException)):
            raise StoreError(f"the store lacks a table or column lossdb reads, as if changed by hand: {e.message}",
                             "run `lossdb upgrade` once (it restores the views and macros), else ingest the runs "
                             "again into a new store") from e.__cause__
        raise


def _parameter_error(text: str) -> QueryError | None:
    """DuckDB's words for values bound to the wrong $names, in the user's: which name, and the fix."""
    missing = re.search(r"Values were not provided for the following parameters: (.+)", text)
    if missing:
        names = [n.strip() for n in missing.group(1).splitlines()[0].split(",")]
        listed = ", ".join(f"${n}" for n in names)
        return QueryError(f"the statement uses {listed}, and no value is given for {'it' if len(names) == 1 else 'them'}",
                          f"pass params={{'{names[0]}': ...}}", cli_hint=f"pass --param {names[0]}=VALUE")
    excess = re.search(r"identifiers of the excess parameters: (.+)", text)
    if excess:
        names = [n.strip() for n in excess.group(1).splitlines()[0].split(",")]
        return QueryError(f"a value is given for {', '.join(names)}, which the statement does not use as "
                          f"{', '.join('$' + n for n in names)}", "leave it out, or use it in the statement")
    if "Parameter/argument count mismatch" in text and "Expected 0" in text:
        return QueryError("values are given, and the statement has no $name to bind them to",
                          "leave out the values, or write $NAME where each goes")
    return None


def query_error(error: duckdb.Error) -> QueryError | StoreError:
    from .db import damage_error

    damaged = damage_error(error)
    if damaged is not None:
        return damaged
    text = str(error).strip()
    first = first_line(error)
    if "read-only" in text.lower():
        return QueryError("the store is open read-only, so this statement cannot change it",
                          "open the store with read_only=False and pass write=True",
                          cli_hint="pass --write to let `lossdb sql` change the store")
    if isinstance(error, duckdb.ParserException):
        return QueryError(f"SQL does not parse: {first}", "check the statement's syntax")
    parameters = _parameter_error(text)
    if parameters is not None:
        return parameters
    if isinstance(error, duckdb.CatalogException):
        return QueryError(first, "list the tables and views with: lossdb sql \"SHOW TABLES\"")
    if isinstance(error, duckdb.BinderException) and "explicit type casts" in text:  # text compared with numbers
        return QueryError(first, "cast the value to the type it is used as, e.g. $k::INTEGER (a --param is text)")
    if isinstance(error, duckdb.BinderException):  # a column or function not there
        return QueryError(first, "list a table's columns with: lossdb sql \"DESCRIBE tokens\" (or the table's name)")
    if isinstance(error, duckdb.ConversionException):
        return QueryError(first, "cast the value to the type it is compared with, e.g. $k::INTEGER")
    if isinstance(error, duckdb.IOException):
        return QueryError(first, "check the path of the file the statement reads or writes")
    # the rest (an error() of a macro, a value out of range, ...) say in their own words what is wrong
    return QueryError(first, "fix the statement as the message says (LOSSDB_DEBUG=1 shows DuckDB's whole message)")


def unique_names(names: list[str]) -> list[str]:
    """`names` with each repeat suffixed _1, _2, ... (skipping names already taken), as DuckDB
    names the columns of a subquery."""
    taken, out = set(names), []
    seen: set[str] = set()
    for name in names:
        if name not in seen:
            seen.add(name)
            out.append(name)
            continue
        k = 1
        while f"{name}_{k}" in taken:
            k += 1
        taken.add(f"{name}_{k}")
        seen.add(f"{name}_{k}")
        out.append(f"{name}_{k}")
    return out
