"""SQL that lossdb runs, kept as .sql files (package data).

migrations/  NNNN_name.sql: the tables of a store and every change to them, applied once each
             in number order and recorded in the store (see migrations/README.md).
schema/      the views and table macros, one CREATE OR REPLACE per file, applied in file-name
             order by `schema_statements`; refreshed whenever their text (comments aside) changes.
queries/     named statements the Python code runs with bound `$name` parameters.
"""
from __future__ import annotations

import hashlib
import re
from functools import cache
from importlib import resources
from typing import NamedTuple


class Migration(NamedTuple):
    version: int
    name: str
    text: str


@cache
def read(name: str) -> str:
    """Text of ``queries/<name>.sql``."""
    return resources.files(__name__).joinpath("queries", f"{name}.sql").read_text("utf-8")


def _files(folder: str):
    found = resources.files(__name__).joinpath(folder)
    return sorted((f for f in found.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)


@cache
def schema_statements() -> tuple[tuple[str, str], ...]:
    """(file name, SQL) for every view and macro file, in the order they must run."""
    return tuple((f.name, f.read_text("utf-8")) for f in _files("schema"))


@cache
def migrations() -> tuple[Migration, ...]:
    """Every migration, in version order; numbers are unique and start at 1."""
    found = []
    for f in _files("migrations"):
        match = re.fullmatch(r"(\d{4})_(\w+)\.sql", f.name)
        if not match:
            raise RuntimeError(f"sql/migrations/{f.name}: a migration is named NNNN_name.sql")
        found.append(Migration(int(match[1]), match[2], f.read_text("utf-8")))
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"sql/migrations: versions {versions} must run 1, 2, 3, ... each once")
    return tuple(found)


def tokens(text: str) -> list[tuple[int, str]]:
    """(character offset, text) of each token of `text` as DuckDB's own tokenizer cuts it,
    comments dropped (so '--' inside a string stays)."""
    import duckdb

    data = text.encode("utf-8")  # the tokenizer's offsets count bytes
    found = duckdb.tokenize(text)
    return [(len(data[:start].decode("utf-8")), data[start:following[0]].decode("utf-8").strip())
            for (start, kind), following in zip(found, [*found[1:], (len(data), None)])
            if kind != duckdb.token_type.comment]


def without_comments(text: str) -> str:
    """`text` with its comments dropped and the whitespace between tokens made one space."""
    return " ".join(token for _, token in tokens(text))


@cache
def schema_fingerprint() -> str:
    """A hash of the views and macros as SQL (comments and layout aside): equal fingerprints
    mean the same definitions."""
    digest = hashlib.sha256()
    for name, statement in schema_statements():
        digest.update(name.encode() + b"\0" + without_comments(statement).encode() + b"\0")
    return digest.hexdigest()[:16]


@cache
def schema_names() -> frozenset[str]:
    """The (lower-case) names of the views and macros the schema files define."""
    return frozenset(re.search(r"CREATE OR REPLACE (?:VIEW|MACRO) (\w+)", without_comments(statement)).group(1).lower()
                     for _, statement in schema_statements())


@cache
def temporary_schema_statements() -> tuple[str, ...]:
    """The views and macros as TEMP objects: what a connection that must not change the file
    defines over a store whose stored definitions are another lossdb's."""
    statements = []
    for name, statement in schema_statements():
        text = without_comments(statement)
        head = re.match(r"CREATE OR REPLACE (VIEW|MACRO) ", text, re.IGNORECASE)
        if not head:
            raise RuntimeError(f"sql/schema/{name}: holds one CREATE OR REPLACE VIEW or MACRO (tables are migrations)")
        statements.append(f"CREATE OR REPLACE TEMP {head[1]} {text[head.end():]}")
    return tuple(statements)


@cache
def created_names() -> frozenset[str]:
    """Lower-case names of every table, view and macro a store holds."""
    texts = [without_comments(m.text) for m in migrations()] + [without_comments(s) for _, s in schema_statements()]
    pattern = r"CREATE (?:OR REPLACE )?(?:TABLE|VIEW|MACRO) (?:IF NOT EXISTS )?(\w+)"
    return frozenset(name.lower() for text in texts for name in re.findall(pattern, text, re.IGNORECASE)) | {
        "lossdb_migrations"}
