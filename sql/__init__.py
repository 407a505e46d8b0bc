"""SQL that lossdb runs, kept as .sql files (package data).

schema/  creates the tables, views and table macros of a store; every file is
         safe to re-run and is applied in file-name order by `schema_statements`.
queries/ named statements the Python code runs with bound `$name` parameters.
"""
from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def read(name: str) -> str:
    """Text of ``queries/<name>.sql``."""
    return resources.files(__name__).joinpath("queries", f"{name}.sql").read_text("utf-8")


@cache
def schema_statements() -> tuple[tuple[str, str], ...]:
    """(file name, SQL) for every schema file, in the order they must run."""
    folder = resources.files(__name__).joinpath("schema")
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)
    return tuple((f.name, f.read_text("utf-8")) for f in files)
