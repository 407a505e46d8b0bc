"""Result: the columns and rows of a query, cheap to make and cheap to format.

The CLI formats rows directly (pandas costs half a second to import, more than a
whole `lossdb top`); the Python API turns a Result into a DataFrame with `.df()`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from lossdb import sql
from lossdb.errors import QueryError, StoreError, first_line


@dataclass
class Result:
    columns: list[str]
    rows: list[tuple]

    def df(self):
        import pandas as pd

        return pd.DataFrame.from_records(self.rows, columns=self.columns)

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row)) for row in self.rows]

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
        raise query_error(e) from None


def named(con: duckdb.DuckDBPyConnection, name: str, params: dict | None = None) -> Result:
    """Run sql/queries/<name>.sql."""
    return execute(con, sql.read(name), params)


def query_error(error: duckdb.Error) -> QueryError | StoreError:
    from .db import damage_error

    damaged = damage_error(error)
    if damaged is not None:
        return damaged
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
