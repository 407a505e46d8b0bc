"""Ad-hoc SQL over every view and table macro honours LIMIT, from any DuckDB client.

DuckDB 2.0.1 drops a LIMIT over a LEFT JOIN whose right side its optimizer proves empty (a
filter on a table that holds no such rows: no label version yet, or gold): `SELECT * FROM
sequence_scores('r') LIMIT 2` returned every sequence. The macros are written around it, and
this test calls each one the schema defines (read from sql/schema, so a new macro is covered
too), with and without a label version, through a plain duckdb connection.
"""
from __future__ import annotations

import json
import re
import shutil

import duckdb
import pytest

import lossdb
from lossdb import sql

# values for the positional parameters the macros take
ARGUMENTS = {"p_run": "'wp'", "p_run_a": "'wp'", "p_run_b": "'wp'", "p_n": "5", "p_seq_id": "0", "p_group": "'g'"}


def schema_objects() -> list[tuple[str, list[str], bool]]:
    """(name, positional parameters, takes p_labels) of every table macro, and every view (no parameters)."""
    found = []
    for _, text in sql.schema_statements():
        macro = re.search(r"CREATE OR REPLACE MACRO (\w+)\(([^)]*)\) AS TABLE", text)
        view = re.search(r"CREATE OR REPLACE VIEW (\w+)", text)
        if macro:
            params = [p.strip() for p in macro.group(2).split(",")]
            found.append((macro.group(1), [p for p in params if ":=" not in p], any(p.startswith("p_labels") for p in params)))
        elif view:
            found.append((view.group(1), [], False))
    return found


@pytest.fixture(scope="module")
def versioned_store(tmp_path_factory, built_store):
    """built_store with label version 'fixed' (one label changed), imported as a user would."""
    path = tmp_path_factory.mktemp("limits") / "store.duckdb"
    shutil.copy(built_store, path)
    with lossdb.connect(path) as store:
        rows = store.sql("SELECT seq_id, words, labels FROM sequences WHERE run_id = 'wp' ORDER BY seq_id").to_dict("records")
    rows[0]["labels"] = ["B-LOC" if t == "O" else t for t in rows[0]["labels"]]
    fixed = path.parent / "fixed.jsonl"
    fixed.write_text("".join(json.dumps({"seq_id": r["seq_id"], "words": list(r["words"]), "labels": list(r["labels"])}) + "\n"
                             for r in rows))
    with lossdb.connect(path, read_only=False) as store:
        store.import_labels(fixed, name="fixed", run="wp")
    return path


def test_the_schema_has_the_objects_this_test_calls():
    names = {name for name, _, _ in schema_objects()}
    assert {"sequence_scores", "label_scores", "posterior_quality", "token_labels", "sequence_losses"} <= names
    assert all(p in ARGUMENTS for _, params, _ in schema_objects() for p in params)


@pytest.mark.parametrize("store, labels", [("no version", "gold"), ("one version", "gold"), ("one version", "fixed")])
def test_limit_holds_over_every_view_and_macro(built_store, versioned_store, store, labels):
    db = built_store if store == "no version" else versioned_store
    dropped = []
    con = duckdb.connect(str(db), read_only=True)
    try:
        for name, params, takes_labels in schema_objects():
            if labels != "gold" and not takes_labels:
                continue
            args = [ARGUMENTS[p] for p in params] + ([f"p_labels := '{labels}'"] if takes_labels else [])
            source = f"{name}({', '.join(args)})" if args else name
            every = con.execute(f"SELECT count(*) FROM {source}").fetchone()[0]
            got = len(con.execute(f"SELECT * FROM {source} LIMIT 2").fetchall())
            if got != min(every, 2):
                dropped.append(f"{name}: {got} rows of {every}")
    finally:
        con.close()
    assert not dropped, dropped


def test_every_macro_refuses_a_label_version_the_run_lacks(versioned_store):
    """A misspelt version gave gold's numbers in its place (a LEFT JOIN to a version with no rows
    falls back to gold); now every macro that takes p_labels raises, whatever the query asks of it
    (a count alone, or rows), and still answers under gold and a version the run has."""
    silent = []
    con = duckdb.connect(str(versioned_store), read_only=True)
    try:
        for name, params, takes_labels in schema_objects():
            if not takes_labels:
                continue
            args = ", ".join(ARGUMENTS[p] for p in params)
            for query in (f"SELECT count(*) FROM {name}({args}, p_labels := 'fixd')",
                          f"SELECT * FROM {name}({args}, p_labels := 'fixd') LIMIT 1"):
                try:
                    con.execute(query).fetchall()
                    silent.append(query)
                except duckdb.InvalidInputException as e:
                    assert "has no label version 'fixd'" in str(e), (query, str(e))
            con.execute(f"SELECT count(*) FROM {name}({args}, p_labels := 'fixed')").fetchall()
    finally:
        con.close()
    assert not silent, silent
