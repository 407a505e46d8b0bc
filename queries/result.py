"""Result: the columns and rows of a query, cheap to make and cheap to format.

The CLI formats rows directly (pandas costs half a second to import, more than a
whole `lossdb top`); the Python API turns a Result into a DataFrame with `.df()`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from lossdb import sql
from lossdb.errors import QueryError, first_line


@dataclass
class Result:
    columns: list[str]
    rows: list[tuple]

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
        if cursor.description is None:
            return Result([], [])
        columns = [d[0] for d in cursor.description]
        return Result(columns, cursor.fetchall())
    except duckdb.Error as e:
        raise query_error(e) from e


def named(con: duckdb.DuckDBPyConnection, name: str, params: dict | None = None) -> Result:
    """Run sql/queries/<name>.sql."""
    return execute(con, sql.read(name), params)


def query_error(error: duckdb.Error) -> QueryError:
    text = str(error).strip()
    first = first_line(error)
    if "read-only" in text.lower():
        return QueryError("the store is open read-only, so this statement cannot change it",
                          "pass --write to let `lossdb sql` change the store")
    if isinstance(error, duckdb.ParserException):
        return QueryError(f"SQL does not parse: {first}", "check the statement's syntax")
    if isinstance(error, duckdb.CatalogException):
        return QueryError(first, "list the tables and views with: lossdb sql \"SHOW TABLES\"")
    return QueryError(first, "check the statement against the schema (lossdb sql \"DESCRIBE tokens\")")
