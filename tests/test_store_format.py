"""The store as a file others rely on (issue #13, #17 item 1).

- Any DuckDB client: a store lossdb wrote opens read-only in the `duckdb` CLI 1.5 (the PyPI
  package duckdb-cli, a test dependency) and answers the README's queries as lossdb does.
- Migrations: a store written by the previous release (tests/fixtures, made by
  make_release_store.py with lossdb 0.1.0) asks for `lossdb upgrade`, which applies what is
  pending, says so, and keeps `top` as that release gave it.
- Read-only SQL: without --write every statement that does not only read is refused before
  any runs, through `sql`, `Store.sql` and `export --ids`; the store and the folder unchanged.
- Foreign DuckDB files are never turned into stores silently, nor written over.
- Two first ingests of one run name racing for a new file: the winner's store survives.
"""
from __future__ import annotations

import hashlib
import json
import multiprocessing
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

import lossdb
from lossdb import sql
from lossdb.errors import LossdbError, QueryError, UsageError
from lossdb.queries import db as store_db

from .conftest import run_cli
from .test_reliability import assert_clean_error, file_state

FIXTURES = Path(__file__).parent / "fixtures"
RELEASE_STORE = FIXTURES / "release-0.1.0.duckdb"
RELEASE_TOP = FIXTURES / "release-0.1.0-top.json"


def duckdb_cli() -> Path:
    """The `duckdb` binary of the duckdb-cli package, installed beside this Python."""
    found = shutil.which("duckdb", path=str(Path(sys.executable).parent)) or shutil.which("duckdb")
    if not found:
        pytest.fail("the duckdb CLI is missing: pip install -e '.[test]' installs duckdb-cli")
    return Path(found)


def cli_query(db: Path, query: str) -> list[dict]:
    """`query` through the duckdb CLI, the store opened read-only; the rows as JSON."""
    result = subprocess.run([str(duckdb_cli()), "-readonly", "-json", str(db), "-c", query],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "Error" not in result.stderr, (query, result.stderr)
    return json.loads(result.stdout or "[]")


def lossdb_query(db: Path, query: str) -> list[dict]:
    """`query` as `lossdb sql -f json` answers it (in this process: the same library and formatter)."""
    from lossdb import queries
    from lossdb.cli import format as fmt

    con = store_db.connect(db)
    try:
        result = queries.adhoc(con, query)
    finally:
        con.close()
    return json.loads(fmt.result(result.columns, result.rows, "json"))


def same(a, b) -> bool:
    """Equal rows from two clients: numbers to 6 significant digits (JSON float printing differs)."""
    if isinstance(a, float) or isinstance(b, float):
        return a == pytest.approx(b, rel=1e-6)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def folder_state(folder: Path) -> dict:
    """Every file under `folder` with a hash of its bytes."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def storage_version(db: Path) -> str:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql.read("storage_version")).fetchone()[0]
    finally:
        con.close()


# --- any DuckDB client ----------------------------------------------------------------------------


def test_the_duckdb_cli_1x_answers_the_readme_queries_as_lossdb_does(built_store):
    version = subprocess.run([str(duckdb_cli()), "--version"], capture_output=True, text=True).stdout
    assert version.startswith("v1."), version  # a 1.x client: it cannot read DuckDB 2.0's default format
    assert storage_version(built_store) == f"{store_db.STORAGE_VERSION}+"

    top = json.loads(run_cli("top", "--n", "3", "-f", "json", "--db", str(built_store)).stdout)
    rows = cli_query(built_store, "SELECT * FROM top_sequence_rows(3)")
    assert [r["seq_id"] for r in rows] == [t["seq_id"] for t in top]
    for row, shown in zip(rows, top):  # `top` shows the book's tables: the first special token dropped
        assert row["tokens"][1:] == shown["tokens"] and row["labels"][1:] == shown["labels"]
        assert row["preds"][1:] == shown["preds"] and same(row["total_loss"], shown["total_loss"])
        assert same(row["losses"][1:], shown["losses"])
    assert [r["seq_id"] for r in cli_query(built_store, "SELECT * FROM top_sequences(3)")] == [t["seq_id"] for t in top]

    queries = [  # README's ad-hoc queries and the other views and macros, as a 1.x client runs them
        "SELECT * FROM sequence_losses ORDER BY seq_id LIMIT 5",
        "SELECT * FROM top_sequences(5)",
        "SELECT run_id, seq_id, position, token, label, pred FROM tokens WHERE token = 'der' ORDER BY ALL LIMIT 5",
        "SELECT * FROM sequence_losses WHERE n_errors > 3 ORDER BY seq_id",
        "SELECT token, label, pred, loss FROM sequence_rows('wp', 0)",
        "SELECT * FROM loss_by_token('wp') LIMIT 5",
        "SELECT * FROM loss_by_label('wp')",
        "SELECT * FROM confusion('wp')",
        "SELECT * FROM entity_scores('wp')",
        "SELECT * FROM class_thresholds('wp')",
        "SELECT seq_id, position, p_label, is_issue FROM token_issues('wp') ORDER BY seq_id, position LIMIT 5",
        "SELECT run_id, n_sequences, mean_loss FROM run_summary",
        "SELECT * FROM run_labels('wp')",
        "SELECT run_id, status, label_names, n_sequences, n_tokens FROM complete_runs",
    ]
    for query in queries:
        theirs, ours = cli_query(built_store, query), lossdb_query(built_store, query)
        assert theirs and same(theirs, ours), query


def test_a_misspelt_label_version_is_an_error_in_the_1x_cli_too(built_store):
    """(tests/test_schema_limits.py checks every macro through Python's duckdb.)"""
    query = "SELECT count(*) AS n FROM loss_by_label('wp', p_labels := 'fixd')"
    result = subprocess.run([str(duckdb_cli()), "-readonly", "-json", str(built_store), "-c", query],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "run 'wp' has no label version 'fixd'" in result.stderr, result.stderr
    assert cli_query(built_store, query.replace("'fixd'", "'gold'"))[0]["n"] > 0
    assert cli_query(built_store, "SELECT count(*) AS n FROM loss_by_label('nope', p_labels := 'x')") == [{"n": 0}]


def test_every_way_lossdb_creates_a_store_writes_the_1x_storage_version(tmp_path, built_store, wordpiece_model,
                                                                        conll_file):
    assert storage_version(built_store) == "v1.4.0+"  # ingest
    shards = []
    for i in range(2):
        shard = tmp_path / f"shard{i}.duckdb"
        assert run_cli("ingest", "-m", wordpiece_model, "-d", str(conll_file), "--run", "s", "--shard", f"{i}/2",
                       "-q", "--db", str(shard)).returncode == 0
        shards.append(str(shard))
    merged = tmp_path / "merged.duckdb"
    assert run_cli("merge", *shards, "--db", str(merged)).returncode == 0
    assert storage_version(merged) == "v1.4.0+"
    assert cli_query(merged, "SELECT count(*) AS n FROM sequence_losses") == [{"n": 60}]
    # writing again with DuckDB 2.0 keeps it readable by 1.x
    assert run_cli("sql", "CREATE TABLE notes AS SELECT 1 AS x", "--write", "--db", str(merged)).returncode == 0
    assert cli_query(merged, "SELECT x FROM notes") == [{"x": 1}]


# --- migrations: a store written by the previous release ----------------------------------------------


@pytest.fixture
def release_store(tmp_path):
    target = tmp_path / "release.duckdb"
    shutil.copy(RELEASE_STORE, target)
    return target


def test_reading_commands_on_a_release_store_print_the_one_command_to_run(release_store):
    before = file_state(release_store)
    for args in (["top"], ["runs"], ["sql", "SELECT 1"], ["issues"], ["entities"]):
        line = assert_clean_error(run_cli(*args, "--db", str(release_store)), "older lossdb")
        assert f"run `lossdb upgrade --db {release_store}` once" in line
    with pytest.raises(LossdbError, match="lossdb upgrade"):
        lossdb.connect(release_store)
    assert file_state(release_store) == before


def test_only_upgrade_migrates_other_writing_commands_ask_for_it(release_store, tmp_path):
    before = file_state(release_store)
    meta = tmp_path / "more.csv"
    meta.write_text("seq_id,x\n0,1\n")
    review = tmp_path / "review.conll"
    review.write_text("der O\n\n")
    for args in (["annotate", str(meta), "--key", "seq_id", "--match", "seq_id", "--name", "more"],
                 ["import-labels", str(review), "--as", "again"],
                 ["sql", "CREATE TABLE mine AS SELECT 1 AS x", "--write"]):
        assert_clean_error(run_cli(*args, "--db", str(release_store)), "lossdb upgrade")
        assert file_state(release_store) == before, args


def test_ingest_into_a_release_store_migrates_it_and_says_so(release_store, wordpiece_model, conll_file):
    result = run_cli("ingest", "--model", str(wordpiece_model), "--data", str(conll_file), "--run", "new",
                     "--db", str(release_store), "-q")
    assert result.returncode == 0, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert "; note: the store was migrated first (migrations 0001 tables, 0002 word_codes" in line
    assert line.endswith(f"it stays in a DuckDB format 1.x clients cannot open until `lossdb upgrade --db "
                         f"{release_store}`")
    assert run_cli("top", "--n", "1", "--run", "new", "--db", str(release_store)).returncode == 0
    again = run_cli("ingest", "--model", str(wordpiece_model), "--data", str(conll_file), "--run", "newer",
                    "--db", str(release_store), "-q")
    assert again.returncode == 0 and "migrated" not in again.stderr, again.stderr


def test_upgrade_applies_what_is_pending_once_and_top_is_the_release_top(release_store):
    con = duckdb.connect(str(release_store), read_only=True)
    tokens = con.execute("SELECT md5(string_agg(t::VARCHAR, '|' ORDER BY seq_id, position)) FROM tokens AS t").fetchone()
    con.close()
    result = run_cli("upgrade", "--db", str(release_store))
    assert result.returncode == 0, result.stderr
    said = result.stderr.splitlines()
    assert said[:2] == ["lossdb: migration 0001 tables", "lossdb: migration 0002 word_codes"]
    assert any("refreshed" in line for line in said) and any("storage version v1.4.0" in line for line in said)
    assert "is now up to date" in said[-1]

    con = duckdb.connect(str(release_store), read_only=True)
    recorded = con.execute("SELECT version, name, applied_at FROM lossdb_migrations ORDER BY version").fetchall()
    assert [(v, n) for v, n, _ in recorded] == [(m.version, m.name) for m in sql.migrations()]
    assert all(applied is not None for _, _, applied in recorded)
    assert con.execute("SELECT md5(string_agg(t::VARCHAR, '|' ORDER BY seq_id, position)) FROM tokens AS t"
                       ).fetchone() == tokens  # nothing re-scored
    con.close()

    from lossdb import queries

    con = store_db.connect(release_store)
    top = queries.top(con, 5, run="release").records()  # as make_release_store.py recorded the release's
    con.close()
    release = json.loads(RELEASE_TOP.read_text())
    assert [(r["seq_id"], r["tokens"], r["labels"], r["preds"]) for r in top] == \
        [(r["seq_id"], r["tokens"], r["labels"], r["preds"]) for r in release]
    assert same([r["total_loss"] for r in top], [r["total_loss"] for r in release])
    # the release's label version and metadata table came through
    assert run_cli("top", "--labels", "reviewed", "--db", str(release_store)).returncode == 0
    assert run_cli("top", "--where-meta", "source=web", "--db", str(release_store)).returncode == 0
    assert cli_query(release_store, "SELECT count(*) AS n FROM top_sequences(3)") == [{"n": 3}]

    again = run_cli("upgrade", "--db", str(release_store))
    assert again.returncode == 0 and again.stderr.splitlines() == [again.stderr.splitlines()[-1]]
    assert "was already up to date" in again.stderr


def test_a_comment_changes_no_fingerprint_a_definition_does():
    name, text = sql.schema_statements()[0]
    assert sql.without_comments("-- one comment\n" + text.replace("\n", "\n  ")) == sql.without_comments(text)
    assert sql.without_comments("SELECT '--not a comment' -- a comment\n") == "SELECT '--not a comment'"
    assert sql.without_comments(text + " -- x") != sql.without_comments(text.replace("SELECT", "SELECT DISTINCT", 1))


def test_a_store_from_a_newer_lossdb_is_refused_plainly(store_copy):
    con = duckdb.connect(str(store_copy))
    con.execute("INSERT INTO lossdb_migrations VALUES (9999, 'from_the_future', now(), '9.9')")
    con.close()
    before = file_state(store_copy)
    assert_clean_error(run_cli("top", "--db", str(store_copy)), "newer lossdb", "9999")
    assert_clean_error(run_cli("upgrade", "--db", str(store_copy)), "newer lossdb")
    assert file_state(store_copy) == before


def test_adding_a_migration_is_dropping_in_the_next_file():
    found = sql.migrations()
    assert [m.version for m in found] == list(range(1, len(found) + 1))
    assert all(m.text.strip() for m in found)
    assert {"runs", "sequences", "tokens", "lossdb_migrations", "top_sequences"} <= sql.created_names()


# --- read-only SQL ------------------------------------------------------------------------------------------

REFUSED = {
    "COPY TO": "COPY tokens TO '{tmp}/tokens.csv'",
    "COPY over the store": "COPY (SELECT 1 AS x) TO '{db}' (FORMAT csv)",
    "EXPORT": "EXPORT DATABASE '{tmp}/exported'",
    "ATTACH": "ATTACH '{tmp}/other.duckdb' AS other (READ_WRITE)",
    "DETACH": "DETACH memory",
    "INSTALL": "INSTALL httpfs",
    "LOAD": "LOAD httpfs",
    "SET": "SET threads = 1",
    "RESET": "RESET threads",
    "PRAGMA setting": "PRAGMA memory_limit = '1GB'",
    "CREATE": "CREATE TABLE mine AS SELECT 1 AS x",
    "INSERT": "INSERT INTO runs SELECT * FROM runs",
    "UPDATE": "UPDATE tokens SET loss = 0",
    "DELETE": "DELETE FROM tokens",
    "DROP": "DROP TABLE tokens",
    "ALTER": "ALTER TABLE runs ADD COLUMN x INTEGER",
    "CHECKPOINT": "CHECKPOINT",
    "USE": "USE memory",
    "EXPLAIN ANALYZE": "EXPLAIN ANALYZE DELETE FROM tokens",
    "the issue's sequence": ("ATTACH ':memory:' AS mm (READ_WRITE); USE mm; DETACH s; "
                             "ATTACH '{db}' AS rw (READ_WRITE); DELETE FROM rw.tokens; DELETE FROM rw.runs"),
    "a write after a read": "SELECT 1; COPY tokens TO '{tmp}/late.csv'",
}
ALLOWED = {
    "SELECT": "SELECT count(*) AS n FROM tokens",
    "WITH": "WITH a AS (SELECT 1 AS x) SELECT x FROM a",
    "VALUES": "VALUES (1)",
    "DESCRIBE": "DESCRIBE tokens",
    "SHOW": "SHOW TABLES",
    "SUMMARIZE": "SUMMARIZE runs",
    "EXPLAIN": "EXPLAIN SELECT * FROM tokens",
    "PRAGMA that reads": "PRAGMA table_info('runs')",
    "PIVOT": "PIVOT (SELECT run_id, seq_id % 2 AS parity FROM sequences) ON parity USING count(*)",
    "reading a CSV": "SELECT s.seq_id, m.source FROM sequence_losses AS s JOIN read_csv('{tmp}/meta.csv') AS m "
                     "USING (seq_id) ORDER BY s.seq_id",
    "two reads": "SELECT 1 AS a; SELECT 2 AS b",
}


@pytest.fixture
def battery_store(store_copy):
    (store_copy.parent / "meta.csv").write_text("seq_id,source\n0,web\n1,news\n")
    return store_copy


def fill(statement: str, store: Path) -> str:
    return statement.format(tmp=store.parent, db=store)


@pytest.mark.parametrize("case", REFUSED)
def test_sql_without_write_refuses_what_does_not_only_read(case, battery_store):
    before = folder_state(battery_store.parent)
    assert_clean_error(run_cli("sql", fill(REFUSED[case], battery_store), "--db", str(battery_store)), "--write")
    assert folder_state(battery_store.parent) == before


def test_store_sql_and_export_ids_refuse_what_does_not_only_read(battery_store, tmp_path):
    before = folder_state(tmp_path)
    with lossdb.connect(battery_store) as store:
        for case, statement in REFUSED.items():
            with pytest.raises(QueryError, match="pass write=True"):  # the Python words for --write
                store.sql(fill(statement, battery_store))
            with pytest.raises(UsageError, match="the ids query must only read"):  # export has no write=
                store.export(tmp_path / "out.conll", format="conll", ids=fill(statement, battery_store))
            assert folder_state(tmp_path) == before, case
        for case, statement in ALLOWED.items():
            assert len(store.sql(fill(statement, battery_store))) > 0, case
    line = assert_clean_error(run_cli("export", "--to", "conll", "--out", str(tmp_path / "out.conll"), "--ids",
                                      fill(REFUSED["the issue's sequence"], battery_store), "--db", str(battery_store)),
                              "the ids query must only read", "(--ids)")
    assert "ATTACH" in line
    assert folder_state(tmp_path) == before


@pytest.mark.parametrize("case", ["SELECT", "DESCRIBE", "SUMMARIZE", "PRAGMA that reads", "PIVOT", "reading a CSV"])
def test_sql_without_write_runs_what_only_reads(case, battery_store):
    result = run_cli("sql", fill(ALLOWED[case], battery_store), "-f", "json", "--db", str(battery_store))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)


def test_write_runs_them_where_asked(store_copy, tmp_path):
    result = run_cli("sql", f"COPY (SELECT run_id FROM runs) TO '{tmp_path}/runs.csv'", "--write", "--db", str(store_copy))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "runs.csv").read_text().splitlines() == ["run_id", "wp"]
    with lossdb.connect(store_copy, read_only=False) as store:
        store.sql("CREATE TABLE notes AS SELECT 1 AS x", write=True)
        assert store.sql("SELECT x FROM notes")["x"].tolist() == [1]
    with lossdb.connect(store_copy) as store, pytest.raises(LossdbError, match="read_only=False"):
        store.sql("CREATE TABLE more AS SELECT 1 AS x", write=True)
    # a script is one transaction: one that fails part way leaves the store as it was
    before = file_state(store_copy)
    failed = run_cli("sql", "--write", "DELETE FROM tokens WHERE seq_id < 10; CREATE TABLE junk (x INTEGER); "
                     "SELECT * FROM nosuch", "--db", str(store_copy))
    assert failed.returncode == 5 and failed.stderr.count("\n") == 1 and "(statement 3 of 3; the script runs as one " \
        "transaction, so nothing of it was saved)" in failed.stderr, failed.stderr
    assert file_state(store_copy) == before
    # a script with its own BEGIN / COMMIT says which statement failed, and what the ones before it left
    failed = run_cli("sql", "--write", "CREATE TABLE a1 (x INTEGER); BEGIN; INSERT INTO a1 VALUES (1); "
                     "INSERT INTO nosuch VALUES (1)", "--db", str(store_copy))
    assert failed.returncode == 5 and "(statement 4 of 4; 1 that changed the store before it saved, its " \
        "transaction's 1 rolled back)" in failed.stderr, failed.stderr
    with lossdb.connect(store_copy) as store:
        assert store.sql("SELECT count(*) AS n FROM a1")["n"].tolist() == [0]
    first = run_cli("sql", "--write", "INSERT INTO nosuch VALUES (1); CREATE TABLE a2 (x INTEGER)", "--db", str(store_copy))
    assert first.returncode == 5 and "(statement 1 of 2; the script runs as one transaction, so nothing of it was saved)" in first.stderr
    bound = run_cli("sql", "--write", "CREATE TABLE a3 (x TEXT); INSERT INTO a3 VALUES ($n)", "-p", "n=hello",
                    "--db", str(store_copy))  # refused before any of it runs: no a3 left behind
    assert bound.returncode == 2 and "values bind to one statement" in bound.stderr
    with lossdb.connect(store_copy) as store:
        assert store.sql("SELECT count(*) AS n FROM duckdb_tables() WHERE table_name = 'a3'")["n"].tolist() == [0]


def test_sql_parameters_that_do_not_fit_say_which(built_store):
    for args, said in ((["SELECT $a"], "the statement uses $a, and no value is given for it; pass --param a=VALUE"),
                       (["SELECT $a, $b", "-p", "a=1"], "the statement uses $b, and no value is given for it"),
                       (["SELECT 1", "-p", "a=1"], "values are given, and the statement has no $name to bind them to"),
                       (["SELECT $a", "-p", "b=1"], "a value is given for b, which the statement does not use as $b"),
                       (["SELECT $a", "-p", "a=1", "-p", "a=2"], "--param a is given twice"),
                       (["SELECT 1; SELECT $a", "-p", "a=1"], "values bind to one statement, and this SQL has 2; "
                                                            "run the statement that takes them on its own (--param)")):
        result = run_cli("sql", *args, "--db", str(built_store))
        assert result.returncode in (2, 5) and result.stdout == "" and said in result.stderr, result.stderr
    assert run_cli("sql", "SELECT $a::INTEGER + 1 AS n", "-p", "a=1", "-f", "csv",
                   "--db", str(built_store)).stdout.splitlines() == ["n", "2"]


# --- foreign DuckDB files ---------------------------------------------------------------------------------------


def foreign_file(path: Path, *statements: str) -> Path:
    con = duckdb.connect(str(path))
    for statement in statements:
        con.execute(statement)
    con.close()
    return path


def test_a_foreign_file_is_refused_before_anything_is_scored(tmp_path, conll_file):
    db = foreign_file(tmp_path / "app.duckdb", "CREATE TABLE customers (id INTEGER)", "INSERT INTO customers VALUES (1)")
    before = file_state(db)
    # the model does not exist: the store check comes first, before the model is even looked at
    line = assert_clean_error(run_cli("ingest", "-m", str(tmp_path / "no-model"), "-d", str(conll_file),
                                      "--db", str(db)), "another application's DuckDB file", "customers")
    assert "--foreign-db" in line
    for args in (["top"], ["runs"], ["sql", "SELECT 1"]):
        assert_clean_error(run_cli(*args, "--db", str(db)), "not a lossdb store", "customers")
    assert_clean_error(run_cli("upgrade", "--db", str(db)), "not a lossdb store")
    assert_clean_error(run_cli("sql", "CREATE TABLE x AS SELECT 1", "--write", "--db", str(db)), "not a lossdb store")
    assert_clean_error(run_cli("import-labels", str(conll_file), "--as", "v", "--db", str(db)), "not a lossdb store")
    assert file_state(db) == before


def test_foreign_db_adds_lossdb_beside_the_files_own_tables(tmp_path, conll_file, wordpiece_model):
    db = foreign_file(tmp_path / "app.duckdb", "CREATE TABLE customers (id INTEGER)", "INSERT INTO customers VALUES (7)")
    result = run_cli("ingest", "-m", wordpiece_model, "-d", str(conll_file), "--run", "mine", "--foreign-db", "-q",
                     "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert lossdb_query(db, "SELECT id FROM customers") == [{"id": 7}]
    assert json.loads(run_cli("top", "--n", "1", "-f", "json", "--db", str(db)).stdout)[0]["run"] == "mine"


@pytest.mark.parametrize("own", ["CREATE TABLE runs (id INTEGER)", "CREATE VIEW sequence_losses AS SELECT 1 AS x",
                                 "CREATE MACRO top_sequences(n) AS TABLE SELECT n"])
def test_foreign_db_never_writes_over_the_files_own_objects(own, tmp_path, conll_file):
    db = foreign_file(tmp_path / "app.duckdb", own)
    before = file_state(db)
    name = own.split()[2].split("(")[0]
    assert_clean_error(run_cli("ingest", "-m", str(tmp_path / "no-model"), "-d", str(conll_file), "--foreign-db",
                               "--db", str(db)), "has its own", name)
    assert file_state(db) == before


def test_merge_into_a_foreign_file_is_refused(tmp_path, built_store):
    db = foreign_file(tmp_path / "app.duckdb", "CREATE TABLE customers (id INTEGER)")
    before = file_state(db)
    assert_clean_error(run_cli("merge", str(built_store), "--db", str(db)), "another application's DuckDB file")
    assert file_state(db) == before


# --- #17 item 1: two first ingests of one run name racing for a new file -------------------------------------------


def _race_commit(job: tuple[str, float, str]) -> str:
    """One racer: stage a one-sequence run 'same' tagged `tag`, wait for `start`, commit it."""
    import numpy as np

    from lossdb.ingest import writer

    path, start, tag = job
    staged = writer.StagedRun()
    try:
        staged.add([writer.ScoredSequence(
            seq_id=0, source_id=None, words_hash=tag, words=["a"], labels=["O"], tokens=["[CLS]", "a", "[SEP]"],
            token_ids=np.array([1, 5, 2]), word_index=np.array([-1, 0, -1]), label_ids=np.array([-100, 0, -100]),
            log_probs=np.log(np.full((3, 2), 0.5, dtype=np.float32)), n_windows=1, truncated=False)])
        record = {"run": "same", "created_at": writer.now(), "model": tag, "model_revision": None,
                  "data_source": "race", "split": None, "label_names": ["O", "B-PER"], "version": "test",
                  "params": {}}
        while time.time() < start:
            pass
        try:
            writer.commit(path, staged, record, replace=False)
            return tag
        except LossdbError as e:
            return f"refused: {e.message}"
    finally:
        staged.discard()


def test_two_first_ingests_of_one_run_never_delete_the_winners_store(tmp_path):
    path = tmp_path / "new.duckdb"
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        for attempt in range(15):
            for file in tmp_path.iterdir():
                file.unlink()
            start = time.time() + 0.3
            outcomes = pool.map(_race_commit, [(str(path), start, f"a{attempt}"), (str(path), start, f"b{attempt}")])
            winners = [o for o in outcomes if not o.startswith("refused")]
            assert len(winners) == 1, outcomes
            assert path.exists(), f"attempt {attempt}: the store {winners[0]} wrote is gone ({outcomes})"
            con = duckdb.connect(str(path), read_only=True)
            assert con.execute("SELECT model FROM runs").fetchall() == [(winners[0],)]
            con.close()
            assert "already exists" in next(o for o in outcomes if o.startswith("refused"))
            assert sorted(p.name for p in tmp_path.iterdir()) == ["new.duckdb"]  # no private file left
