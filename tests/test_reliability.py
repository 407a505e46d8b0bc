"""Every failure is clean: one line on stderr, a non-zero exit, the store unchanged.

Each case runs the real `lossdb` command in a subprocess against tiny real models and real
DuckDB files, then checks the store byte for byte (or that it is still absent). The kill
tests SIGKILL an ingest while it scores and at exact moments of its commit (the
`LOSSDB_FAULT` hook in ingest/writer.py), then check that earlier runs are untouched,
nothing of the killed run is visible, the file opens, and the same ingest then succeeds.
"""
from __future__ import annotations

import hashlib
import json
import re
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from lossdb import demo
from lossdb.ingest.writer import staging_folder

from .conftest import run_cli

LABELS = "O, B-PER, I-PER, B-ORG, I-ORG, B-LOC, I-LOC"


# --- helpers ---------------------------------------------------------------------------------


def file_state(path: Path):
    """The store file's bytes (and its WAL's), or None when it does not exist."""
    if not path.exists():
        return None
    wal = path.with_name(path.name + ".wal")
    return (hashlib.sha256(path.read_bytes()).hexdigest(), wal.read_bytes() if wal.exists() else None)


def content(path: Path) -> dict:
    """What a reader can see: every row of runs, sequences and tokens, and the visible runs."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {
            "runs": {r["run_id"]: r for r in rows(con, "SELECT * FROM runs ORDER BY run_id")},
            "sequences": con.execute("SELECT * FROM sequences ORDER BY run_id, seq_id").fetchall(),
            "tokens_digest": hashlib.sha256(repr(con.execute(
                "SELECT * FROM tokens ORDER BY run_id, seq_id, position").fetchall()).encode()).hexdigest(),
            "visible": con.execute("SELECT run_id FROM complete_runs ORDER BY run_id").fetchall(),
            "losses": con.execute("SELECT DISTINCT run_id FROM sequence_losses ORDER BY run_id").fetchall(),
        }
    finally:
        con.close()


def rows(con, query: str) -> list[dict]:
    cursor = con.execute(query)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def run_ids(path: Path) -> set[str]:
    """Runs present in any table, complete or not (a killed run must leave none of these)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {r[0] for r in con.execute(
            "SELECT run_id FROM runs UNION SELECT run_id FROM sequences UNION SELECT run_id FROM tokens").fetchall()}
    finally:
        con.close()


def assert_clean_error(result, *needles: str) -> str:
    """Non-zero exit, nothing on stdout, exactly one stderr line 'lossdb: error: ...' naming the problem."""
    assert result.returncode != 0, f"exit 0 (silent success?)\nstdout: {result.stdout}\nstderr: {result.stderr}"
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{result.stderr}"
    line = lines[0]
    assert line.startswith("lossdb: error: "), line
    for needle in needles:
        assert needle in line, f"{needle!r} not in: {line}"
    assert result.stdout == ""
    return line


def start_cli(*args: str, env: dict | None = None) -> subprocess.Popen:
    """`lossdb ARGS` in the background (as run_cli, but returns at once)."""
    full_env = {k: v for k, v in os.environ.items() if k != "LOSSDB_DB"}
    full_env.update({"PYTHONUNBUFFERED": "1", **(env or {})})
    return subprocess.Popen([sys.executable, "-m", "lossdb.cli.app", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=full_env, preexec_fn=heed_ctrl_c)


def run_heeding_ctrl_c(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """run_cli, with Ctrl-C heeded in the child whatever the test run's own SIGINT is (see heed_ctrl_c)."""
    process = start_cli(*args, env=env)
    stdout, stderr = process.communicate(timeout=600)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def heed_ctrl_c() -> None:
    """In the child: Ctrl-C and SIGTERM heeded. A test run started in the background (`make test &`
    in a script) ignores SIGINT, its children inherit that, and lossdb, like Python, leaves an
    ignored SIGINT ignored; a blocked signal is inherited too."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})


def wait_for(predicate, process: subprocess.Popen, timeout: float = 300, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if process.poll() is not None:
            raise AssertionError(f"process ended (exit {process.returncode}) before {what}: {process.stderr.read()}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def hold_store(path: Path, *, read_only: bool) -> subprocess.Popen:
    """Another process that opens the store and keeps it open until killed."""
    code = (f"import duckdb, sys, time; con = duckdb.connect({str(path)!r}, read_only={read_only}); "
            "print('open', flush=True); time.sleep(600)")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "open"
    return holder


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("bad-data")


@pytest.fixture(scope="session")
def kill_data(data_dir):
    """Enough sentences that scoring them one at a time takes a few seconds."""
    return demo.write_conll(demo.make_sentences(300, seed=11), data_dir / "kill.conll")


@pytest.fixture(scope="session")
def other_data(data_dir):
    return demo.write_conll(demo.make_sentences(12, seed=5), data_dir / "other.conll")


@pytest.fixture(scope="session")
def short_model(tmp_path_factory):
    """A wordpiece model whose maximum length is 16 tokens: most sentences need windows."""
    root = tmp_path_factory.mktemp("short-model")
    corpus = [words for words, _ in demo.make_sentences(400, seed=3)]
    tok = demo.build_tokenizer("wordpiece", corpus, root / "tok", vocab_size=300, model_max_length=16)
    return str(demo.build_model(tok, root / "model", kind="wordpiece", seed=1))


@pytest.fixture(scope="session")
def slow_model(tmp_path_factory, wordpiece_model):
    """A model folder whose tokenizer is a slow (Python) one, without word_ids()."""
    from transformers import ByT5Tokenizer

    folder = tmp_path_factory.mktemp("slow-model")
    for name in ("config.json", "model.safetensors"):
        shutil.copy(Path(wordpiece_model) / name, folder / name)
    ByT5Tokenizer().save_pretrained(folder)
    return str(folder)


@pytest.fixture
def absent_db(tmp_path):
    return tmp_path / "absent.duckdb"


# --- bad models --------------------------------------------------------------------------------


def test_model_path_missing(store_copy, conll_file, tmp_path):
    before = file_state(store_copy)
    result = run_cli("ingest", "-m", str(tmp_path / "no-such-model"), "-d", str(conll_file), "--db", str(store_copy))
    assert_clean_error(result, "no-such-model", "does not exist")
    assert file_state(store_copy) == before


def test_model_hub_name_unreachable_is_quick_and_clean(absent_db, conll_file):
    started = time.monotonic()
    result = run_cli("ingest", "-m", "no-such-model-xyz", "-d", str(conll_file), "--db", str(absent_db),
                     env={"HF_HUB_OFFLINE": "1"})
    assert_clean_error(result, "no-such-model-xyz", "does not exist")
    assert time.monotonic() - started < 60
    assert not absent_db.exists()


@pytest.mark.parametrize("offline", [False, True])
def test_dataset_hub_name_unknown_is_one_line(offline, absent_db, wordpiece_model):
    """Asked of an unreachable hub (or one without it), datasets retried for half a minute and
    printed a dozen lines; the hub is asked once, first, as for a model."""
    env = {"HF_HUB_OFFLINE": "1"} if offline else {"HF_HUB_OFFLINE": "0"}
    result = run_cli("ingest", "-m", wordpiece_model, "-d", "hf:no-such-owner/no-such-dataset", "--split", "test",
                     "--db", str(absent_db), env=env)
    assert_clean_error(result, "dataset no-such-owner/no-such-dataset does not exist")
    assert not absent_db.exists()


@pytest.mark.parametrize("kind", ["empty folder", "a file", "config only", "broken config"])
def test_model_not_a_model(kind, store_copy, conll_file, tmp_path, wordpiece_model):
    model = tmp_path / "model"
    if kind == "a file":
        model.write_text("hello")
    else:
        model.mkdir()
        if kind == "config only":
            shutil.copy(Path(wordpiece_model) / "config.json", model / "config.json")
        elif kind == "broken config":
            (model / "config.json").write_text("{not json")
    before = file_state(store_copy)
    result = run_cli("ingest", "-m", str(model), "-d", str(conll_file), "--db", str(store_copy))
    assert_clean_error(result, str(model))
    assert file_state(store_copy) == before


def test_slow_tokenizer(slow_model, store_copy, conll_file):
    before = file_state(store_copy)
    result = run_cli("ingest", "-m", slow_model, "-d", str(conll_file), "--db", str(store_copy))
    assert_clean_error(result, "slow tokenizer", "word alignment")
    assert file_state(store_copy) == before


# --- bad data ----------------------------------------------------------------------------------

BAD_DATA = {
    # name: (file name, bytes, words the one-line error must contain)
    "missing": ("missing.conll", None, ["does not exist"]),
    "empty": ("empty.conll", b"", ["is empty"]),
    "binary": ("binary.conll", bytes(range(256)) * 8, ["not a UTF-8 text file"]),
    "nul bytes": ("nul.conll", b"Hallo\tO\n\x00\x00\x00\tO\n", ["not a text file"]),
    "binary jsonl": ("binary.jsonl", b"\x89PNG\r\n\x1a\n\xff\xfe\x00\x00", ["not a UTF-8 text file"]),
    "text as parquet": ("data.parquet", b"tokens,ner_tags\n", ["not a Parquet file"]),
    "too few columns": ("fewcol.conll", "Hallo\tO\nWelt\n\n".encode(), ["line 2", "expected a token and a tag"]),
    "unknown tag": ("badtag.conll", "Hallo\tO\nBerlin\tB-CITY\n\n".encode(), ["'B-CITY'", LABELS]),
    "unknown tag late": ("late.conll", ("Hallo\tO\n\n" * 500 + "Welt\tI-MISC\n\n").encode(), ["'I-MISC'", "late.conll, line 1001 (seq_id 500)"]),
    "lengths differ": ("lengths.jsonl", b'{"tokens": ["a", "b", "c"], "ner_tags": ["O", "O"]}\n', ["lengths.jsonl, line 1 (seq_id 0): 3 words but 2 tags"]),
    "tag id out of range": ("ids.jsonl", b'{"tokens": ["a"], "ner_tags": [99]}\n', ["99"]),
    "no sentences": ("blank.conll", b"\n\n-DOCSTART-\tO\n\n", ["no sentences"]),
    "not json": ("bad.jsonl", b'{"tokens": ["a"], "ner_tags": ["O"]}\n{oops\n', ["line 2", "not valid JSON"]),
    "null word": ("null.jsonl", b'{"tokens": ["a", null], "ner_tags": ["O", "O"]}\n', ["word 1", "null"]),
    "unknown suffix": ("data.xlsx", b"PK\x03\x04", ["cannot tell the format"]),
}


@pytest.mark.parametrize("case", list(BAD_DATA))
def test_bad_data(case, tmp_path, store_copy, wordpiece_model):
    name, body, needles = BAD_DATA[case]
    data = tmp_path / name
    if body is not None:
        data.write_bytes(body)
    before = file_state(store_copy)
    result = run_cli("ingest", "-m", wordpiece_model, "-d", str(data), "--db", str(store_copy))
    assert_clean_error(result, *needles)
    assert file_state(store_copy) == before


@pytest.mark.parametrize("case", ["missing", "unknown tag", "lengths differ", "no sentences"])
def test_bad_data_creates_no_store(case, tmp_path, wordpiece_model):
    name, body, needles = BAD_DATA[case]
    data = tmp_path / name
    if body is not None:
        data.write_bytes(body)
    db = tmp_path / "new.duckdb"
    assert_clean_error(run_cli("ingest", "-m", wordpiece_model, "-d", str(data), "--db", str(db)), *needles)
    assert sorted(p.name for p in tmp_path.iterdir()) == ([name] if body is not None else [])


# --- bad stores --------------------------------------------------------------------------------


def bad_store(kind: str, tmp_path: Path) -> Path:
    path = tmp_path / "store.duckdb"
    if kind == "missing folder":
        return tmp_path / "no" / "such" / "folder" / "store.duckdb"
    if kind == "text file":
        path.write_text("these are not the bytes of a database\n" * 50)
    elif kind == "empty file":
        path.write_bytes(b"")
    elif kind == "sqlite file":
        con = sqlite3.connect(path)
        con.execute("CREATE TABLE runs (x)")
        con.commit()
        con.close()
    elif kind == "folder":
        path.mkdir()
    elif kind == "duckdb, not lossdb":
        con = duckdb.connect(str(path))
        con.execute("CREATE TABLE other (x INTEGER)")
        con.close()
    return path


STORE_KINDS = {
    "missing folder": "does not exist",
    "text file": "not a DuckDB database",
    "empty file": "not a DuckDB database",
    "sqlite file": "SQLite",
    "folder": "is a folder",
    "duckdb, not lossdb": "not a lossdb store",
}


BAD_STORE_CASES = ([("top", kind) for kind in STORE_KINDS]
                   + [("ingest", kind) for kind in STORE_KINDS if kind != "duckdb, not lossdb"]
                   + [(command, kind) for command in ("runs", "sql") for kind in ("missing folder", "text file")])


@pytest.mark.parametrize(("command", "kind"), BAD_STORE_CASES)
def test_bad_store(kind, command, tmp_path, conll_file, wordpiece_model):
    db = bad_store(kind, tmp_path)
    before = file_state(db) if db.is_file() else None
    args = {"top": ["top"], "runs": ["runs"], "sql": ["sql", "SELECT 1"],
            "ingest": ["ingest", "-m", wordpiece_model, "-d", str(conll_file)]}[command]
    result = run_cli(*args, "--db", str(db))
    assert_clean_error(result, STORE_KINDS[kind])
    if db.is_file():
        assert file_state(db) == before
    elif kind == "missing folder":
        assert not db.parent.exists()


@pytest.mark.parametrize("command", [["top"], ["runs"], ["sql", "SELECT 1"]])
def test_readers_never_create_a_store(command, absent_db):
    result = run_cli(*command, "--db", str(absent_db))
    assert_clean_error(result)
    assert not absent_db.exists()
    assert not absent_db.with_name(absent_db.name + ".wal").exists()


# --- locks: another process has the store open ---------------------------------------------------


@pytest.mark.parametrize("command", ["top", "sql --write", "ingest"])
def test_store_locked_by_a_writer(command, store_copy, other_data, wordpiece_model):
    before = content(store_copy)
    holder = hold_store(store_copy, read_only=False)
    try:
        args = {"top": ["top"], "runs": ["runs"], "sql": ["sql", "SELECT 1"],
                "sql --write": ["sql", "SELECT 1", "--write"],
                "ingest": ["ingest", "-m", wordpiece_model, "-d", str(other_data), "--run", "other"]}[command]
        result = run_cli(*args, "--db", str(store_copy))
        line = assert_clean_error(result, "busy", f"PID {holder.pid}", "wait for")
        assert str(store_copy) in line
    finally:
        holder.kill()
        holder.wait()
    assert content(store_copy) == before


def test_ingest_refuses_a_store_a_reader_holds_before_scoring(store_copy, kill_data, wordpiece_model):
    """A notebook's read-only connection blocks the commit: say so at once, not after scoring."""
    holder = hold_store(store_copy, read_only=True)
    try:
        started = time.monotonic()
        result = run_cli("ingest", "-m", wordpiece_model, "-d", str(kill_data), "--run", "blocked",
                         "--db", str(store_copy))
        assert_clean_error(result, "busy", f"PID {holder.pid}")
        assert time.monotonic() - started < 30  # torch was never imported, nothing was scored
        top = run_cli("top", "--n", "1", "--db", str(store_copy))  # readers share the file
        assert top.returncode == 0, top.stderr
    finally:
        holder.kill()
        holder.wait()
    assert run_ids(store_copy) == {"wp"}


def test_commit_waits_for_a_reader_to_close(store_copy, kill_data, wordpiece_model):
    """A reader that opens the store while an ingest scores delays the commit; it does not fail it."""
    ingest = start_cli("ingest", "-m", wordpiece_model, "-d", str(kill_data), "--run", "late", "--batch-size", "8",
                       "-q", "--db", str(store_copy))
    wait_for(lambda: staging_folder(ingest.pid) is not None, ingest, what="scoring to start")
    holder = hold_store(store_copy, read_only=True)
    try:
        line = ingest.stderr.readline()
        assert "busy" in line and "waiting" in line, line
    finally:
        holder.kill()
        holder.wait()
    _, err = ingest.communicate(timeout=300)
    assert ingest.returncode == 0, err
    assert "lossdb: ingested run 'late'" in err
    assert run_ids(store_copy) == {"wp", "late"}


def test_readers_read_while_an_ingest_scores(store_copy, kill_data, wordpiece_model):
    before = run_cli("top", "--n", "2", "--run", "wp", "--format", "json", "--db", str(store_copy))
    ingest = start_cli("ingest", "-m", wordpiece_model, "-d", str(kill_data), "--run", "new", "--batch-size", "1",
                       "-q", "--db", str(store_copy))
    try:
        wait_for(lambda: staging_folder(ingest.pid) is not None, ingest, what="scoring to start")
        during = run_cli("top", "--n", "2", "--format", "json", "--db", str(store_copy))
        assert ingest.poll() is None, "the ingest finished before the reader ran; make kill_data bigger"
    finally:
        ingest.kill()
        ingest.wait()
    assert during.returncode == 0, during.stderr
    assert json.loads(during.stdout) == json.loads(before.stdout)  # the newest complete run is still 'wp'


# --- usage errors --------------------------------------------------------------------------------


@pytest.mark.parametrize("args, needle", [
    (["issues", "--bogus"], "No such option: --bogus; see `lossdb issues --help`"),
    (["top", "--nn", "3"], "No such option: --nn"),
    (["issues", "--evaluate"], "'--evaluate' requires an argument"),
    (["export"], "Missing option '--out'"),
    (["issues", "--seq-id", "abc"], "'abc' is not a valid integer"),
    (["nosuch"], "No such command 'nosuch'"),
    (["sql", "-- the worst\nSELECT 1"], "'-- the worst SELECT 1' begins with '-', so it is read as an option; "
                                         "put `--` before it, after every option: lossdb sql [OPTIONS] -- \"YOUR TEXT\""),
])
def test_a_mistyped_command_line_is_one_line(args, needle):
    """click's usage block (Usage:, Try ..., a blank line, Error: ...) becomes one line, exit 2."""
    result = run_cli(*args)
    assert_clean_error(result, needle)
    assert result.returncode == 2


@pytest.mark.parametrize("n", ["0", "-1", "abc", "1.5", "100000000000000000000000000"])
def test_bad_count(n, built_store):
    before = file_state(built_store)
    assert_clean_error(run_cli("top", "--n", n, "--db", str(built_store)), "--n")
    assert file_state(built_store) == before


def test_a_store_the_user_may_not_write_says_so(built_store, tmp_path):
    """A read-only file: reading works; a command that writes names the permission, not DuckDB's IO Error."""
    copy = tmp_path / "ro.duckdb"
    shutil.copy(built_store, copy)
    copy.chmod(0o444)
    # root ignores file permissions unless it gives up the capability to
    drop = ["setpriv", "--inh-caps=-dac_override", "--bounding-set=-dac_override"] if os.geteuid() == 0 else []

    def lossdb(*args):
        return subprocess.run([*drop, sys.executable, "-m", "lossdb.cli.app", *args, "--db", str(copy)],
                              capture_output=True, text=True, timeout=120)

    before = file_state(copy)
    assert lossdb("top", "--n", "1").returncode == 0
    assert_clean_error(lossdb("sql", "--write", "CREATE TABLE notes (i INTEGER)"),
                       "cannot write", "permission denied", "this command changes the store", "work on a copy")
    assert file_state(copy) == before


def test_unknown_run(built_store):
    line = assert_clean_error(run_cli("top", "--run", "no-such-run", "--db", str(built_store)), "'no-such-run'")
    assert "'wp'" in line  # the runs there are


@pytest.mark.parametrize("statement", ["SELEC * FROM tokens", "SELECT (1"])
def test_sql_that_does_not_parse(statement, built_store):
    assert_clean_error(run_cli("sql", statement, "--db", str(built_store)), "does not parse")


@pytest.mark.parametrize("statement", ["", "  ", ";", "/* only a comment */", "-- only a comment"])
@pytest.mark.parametrize("write", [False, True])
def test_sql_with_nothing_to_run(statement, write, built_store):
    args = ["sql", "--db", str(built_store), *(["--write"] if write else []), "--", statement]
    assert_clean_error(run_cli(*args), "the SQL statement is empty")


def test_sql_unknown_table(built_store):
    assert_clean_error(run_cli("sql", "SELECT * FROM no_such_table", "--db", str(built_store)), "no_such_table")


@pytest.mark.parametrize("statement", [
    "DROP TABLE tokens",
    "DELETE FROM tokens",
    "UPDATE tokens SET loss = 0",
    "INSERT INTO runs SELECT * FROM runs",
])
def test_sql_is_read_only_without_write(statement, store_copy):
    before = file_state(store_copy)
    assert_clean_error(run_cli("sql", statement, "--db", str(store_copy)), "read-only", "--write")
    assert file_state(store_copy) == before


def test_sql_write_changes_the_store(store_copy):
    result = run_cli("sql", "DELETE FROM tokens WHERE seq_id = 0", "--write", "--db", str(store_copy))
    assert result.returncode == 0, result.stderr
    count = run_cli("sql", "SELECT count(*) AS n FROM tokens WHERE seq_id = 0", "-f", "json", "--db", str(store_copy))
    assert json.loads(count.stdout) == [{"n": 0}]


@pytest.mark.parametrize("option", [["--batch-size", "0"], ["--limit", "0"], ["--max-length", "0"],
                                    ["--stride", "-1"], ["--overflow", "drop"], ["--shard", "3/2"]])
def test_bad_ingest_options(option, store_copy, conll_file, wordpiece_model):
    before = file_state(store_copy)
    result = run_cli("ingest", "-m", wordpiece_model, "-d", str(conll_file), "--db", str(store_copy), *option)
    assert_clean_error(result, option[0])
    assert file_state(store_copy) == before


# --- runs: refuse, replace, atomic ----------------------------------------------------------------


def test_ingest_refuses_an_existing_run_unless_replace(store_copy, other_data, wordpiece_model):
    before = file_state(store_copy)
    args = ["ingest", "-m", wordpiece_model, "-d", str(other_data), "--run", "wp", "--db", str(store_copy)]
    assert_clean_error(run_cli(*args), "'wp'", "--replace")
    assert file_state(store_copy) == before
    result = run_cli(*args, "--replace")
    assert result.returncode == 0, result.stderr
    assert content(store_copy)["runs"]["wp"]["data_source"] == str(other_data)  # the new run replaced it
    assert len(content(store_copy)["sequences"]) == 12


def test_incomplete_run_of_the_same_name_is_replaced(store_copy, other_data, wordpiece_model):
    """A run row that never completed (whatever left it) is replaced without --replace."""
    con = duckdb.connect(str(store_copy))
    con.execute("INSERT INTO runs SELECT * REPLACE ('half' AS run_id, 'running' AS status) FROM runs")
    con.execute("INSERT INTO tokens SELECT * REPLACE ('half' AS run_id) FROM tokens WHERE seq_id < 3")
    con.close()
    assert "half" not in run_cli("runs", "-f", "json", "--db", str(store_copy)).stdout
    assert_clean_error(run_cli("top", "--run", "half", "--db", str(store_copy)), "'half'")
    result = run_cli("ingest", "-m", wordpiece_model, "-d", str(other_data), "--run", "half", "--db", str(store_copy))
    assert result.returncode == 0, result.stderr
    con = duckdb.connect(str(store_copy), read_only=True)
    assert con.execute("SELECT status, n_sequences FROM runs WHERE run_id = 'half'").fetchall() == [("complete", 12)]
    assert con.execute("SELECT count(DISTINCT seq_id) FROM tokens WHERE run_id = 'half'").fetchone()[0] == 12
    con.close()


def killed_run_left_nothing(db: Path, before: dict, killed: str) -> None:
    """Earlier runs exactly as they were, and nothing of `killed` in any table."""
    assert content(db) == before
    assert killed not in run_ids(db)


def commands_still_work(db: Path, killed: str) -> None:
    """The file opens and every reading command works; none of them shows the killed run."""
    for args in (["runs", "-f", "json"], ["top", "--n", "1", "-f", "json"], ["sql", "SELECT count(*) FROM tokens"]):
        result = run_cli(*args, "--db", str(db))
        assert result.returncode == 0, result.stderr
        assert killed not in result.stdout
    assert_clean_error(run_cli("top", "--run", killed, "--db", str(db)), repr(killed))


def test_sigkill_while_scoring(store_copy, kill_data, wordpiece_model):
    before = content(store_copy)
    args = ["ingest", "-m", wordpiece_model, "-d", str(kill_data), "--run", "killed", "-q", "--db", str(store_copy)]
    ingest = start_cli(*args, "--batch-size", "1")  # one sentence a batch: scoring lasts
    wait_for(lambda: staging_folder(ingest.pid) is not None, ingest, what="scoring to start")
    time.sleep(0.3)
    folder = staging_folder(ingest.pid)
    assert ingest.poll() is None, "the ingest finished before the kill; make kill_data bigger"
    ingest.send_signal(signal.SIGKILL)
    ingest.wait()
    killed_run_left_nothing(store_copy, before, "killed")
    commands_still_work(store_copy, "killed")
    rerun = run_cli(*args)  # the same ingest (at the default batch size), to completion
    assert rerun.returncode == 0, rerun.stderr
    assert not folder.exists()  # the killed ingest's staging folder is cleared away
    assert run_ids(store_copy) == {"wp", "killed"}
    assert content(store_copy)["runs"]["killed"]["n_sequences"] == 300


def test_sigkill_during_commit(store_copy, other_data, wordpiece_model):
    """Killed after BEGIN + DELETE, after the tokens INSERT, and just before COMMIT: nothing
    changes, not even a run being replaced; then the same ingest runs to completion."""
    before = content(store_copy)
    base = ["ingest", "-m", wordpiece_model, "-d", str(other_data), "--db", str(store_copy)]
    for point, extra in (("commit-deleted", ["--run", "wp", "--replace"]),
                         ("commit-tokens", ["--run", "fresh"]),
                         ("commit-before", ["--run", "wp", "--replace"])):
        result = run_cli(*base, *extra, env={"LOSSDB_FAULT": point})
        assert result.returncode == -signal.SIGKILL, (point, result.stderr)
        killed_run_left_nothing(store_copy, before, "fresh")
    commands_still_work(store_copy, "fresh")
    result = run_cli(*base, "--run", "fresh")
    assert result.returncode == 0, result.stderr
    assert "lossdb: ingested run 'fresh': 12 sequences" in result.stderr
    # the rate is of the scoring the run records, not of the start-up and model load around it
    scoring = float(re.search(r"\(scoring ([\d.]+) s, ([\d,]+) seq/s\)", result.stderr)[1])
    con = duckdb.connect(str(store_copy), read_only=True)
    recorded = con.execute("SELECT params.scoring_seconds FROM runs WHERE run_id = 'fresh'").fetchone()[0]
    con.close()
    assert scoring == pytest.approx(float(recorded), abs=0.051)
    run = content(store_copy)["runs"]["fresh"]
    assert run["data_source"] == str(other_data) and run["status"] == "complete"
    assert content(store_copy)["runs"]["wp"] == before["runs"]["wp"]


def test_sigkill_right_after_commit_keeps_the_run(store_copy, other_data, wordpiece_model):
    result = run_cli("ingest", "-m", wordpiece_model, "-d", str(other_data), "--run", "done", "--db", str(store_copy),
                     env={"LOSSDB_FAULT": "commit-after"})
    assert result.returncode == -signal.SIGKILL
    assert run_ids(store_copy) == {"wp", "done"}
    top = run_cli("top", "--run", "done", "--n", "1", "-f", "json", "--db", str(store_copy))
    assert top.returncode == 0 and json.loads(top.stdout)[0]["run"] == "done"


def test_ctrl_c_says_whether_the_run_was_saved(store_copy, other_data, wordpiece_model):
    """Ctrl-C just before COMMIT: nothing changed, and it says so; just after: the run is kept,
    and it says that instead of "the store is unchanged"."""
    before = content(store_copy)
    base = ["ingest", "-m", wordpiece_model, "-d", str(other_data), "--db", str(store_copy)]
    result = run_heeding_ctrl_c(*base, "--run", "early", env={"LOSSDB_FAULT": "commit-before:SIGINT"})
    assert result.returncode == 130, result.stderr
    assert result.stderr.strip().splitlines() == ["lossdb: interrupted; the store is unchanged"]
    killed_run_left_nothing(store_copy, before, "early")
    result = run_heeding_ctrl_c(*base, "--run", "late", env={"LOSSDB_FAULT": "commit-after:SIGINT"})
    assert result.returncode == 130, result.stderr
    assert result.stderr.strip().splitlines() == ["lossdb: interrupted after saving its changes to the store"]
    assert run_ids(store_copy) == {"wp", "late"}


def test_sigkill_first_ingest_during_commit(absent_db, other_data, wordpiece_model):
    """The store did not exist: killed mid-commit, it opens (no runs), and the next ingest succeeds."""
    args = ["ingest", "-m", wordpiece_model, "-d", str(other_data), "--run", "first", "--db", str(absent_db)]
    assert run_cli(*args, env={"LOSSDB_FAULT": "commit-tokens"}).returncode == -signal.SIGKILL
    if absent_db.exists():
        assert run_ids(absent_db) == set()
        assert_clean_error(run_cli("top", "--db", str(absent_db)), "no complete run")
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    assert run_ids(absent_db) == {"first"}


def test_sigkill_as_the_commit_starts(store_copy, kill_data, wordpiece_model):
    """Best effort without the hook: kill the moment the staged Parquet is closed (the commit's
    first step). Wherever the kill lands, the run is all there or not there at all."""
    before = content(store_copy)
    ingest = start_cli("ingest", "-m", wordpiece_model, "-d", str(kill_data), "--run", "racy", "-q",
                       "--db", str(store_copy))

    def parquet_closed() -> bool:
        folder = staging_folder(ingest.pid)
        try:
            with (folder / "tokens.parquet").open("rb") as f:  # 'PAR1' opens the file and ends the footer
                f.seek(0, os.SEEK_END)
                if f.tell() <= 8:
                    return False
                f.seek(-4, os.SEEK_END)
                return f.read() == b"PAR1"
        except (OSError, TypeError):
            return False

    wait_for(parquet_closed, ingest, what="the commit to start")
    ingest.send_signal(signal.SIGKILL)
    ingest.wait()
    if "racy" in run_ids(store_copy):  # the kill landed after COMMIT: all of it
        con = duckdb.connect(str(store_copy), read_only=True)
        assert con.execute("SELECT n_sequences FROM complete_runs WHERE run_id = 'racy'").fetchone()[0] == 300
        assert con.execute("SELECT count(*) FROM sequences WHERE run_id = 'racy'").fetchone()[0] == 300
        con.close()
    else:
        killed_run_left_nothing(store_copy, before, "racy")


def test_sigterm_rolls_back_and_says_so(store_copy, kill_data, wordpiece_model):
    before = content(store_copy)
    ingest = start_cli("ingest", "-m", wordpiece_model, "-d", str(kill_data), "--run", "term", "--batch-size", "1",
                       "-q", "--db", str(store_copy))
    wait_for(lambda: staging_folder(ingest.pid) is not None, ingest, what="scoring to start")
    folder = staging_folder(ingest.pid)
    ingest.send_signal(signal.SIGTERM)
    _, err = ingest.communicate(timeout=120)
    assert ingest.returncode == 130, err
    assert err.strip().splitlines() == ["lossdb: interrupted; the store is unchanged"]
    assert not folder.exists()
    killed_run_left_nothing(store_copy, before, "term")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_ctrl_c_stops_a_long_query_every_time(built_store):
    """DuckDB alone lets a query run on when a worker thread took its one task (range() is one
    task): before lossdb stopped the queries itself, 2 in 8 of these ignored Ctrl-C to the end.
    Five in a row, each one line and exit 130, within seconds."""
    for attempt in range(5):
        query = start_cli("sql", "SELECT sum(hash(i)) FROM range(100000000000) t(i)", "--db", str(built_store))
        # CPU time well past what starting takes: the query is running
        wait_for(lambda: cpu_seconds(query.pid) > 1.5, query, what="the query to run")
        query.send_signal(signal.SIGINT)
        try:
            out, err = query.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"attempt {attempt + 1}: the query ran on for 30 s after Ctrl-C") from None
        finally:
            query.kill()  # not left running, holding the store
        assert query.returncode == 130, err
        assert err.strip().splitlines() == ["lossdb: interrupted; the store is unchanged"]
        assert out == ""


@pytest.mark.parametrize("begin", ["", "BEGIN; "])
def test_ctrl_c_in_a_write_script_says_what_was_kept(store_copy, begin):
    """`sql --write` runs a script as one transaction: stopped in the second statement, the first
    is not kept either. A script that says BEGIN itself commits what runs before it."""
    script = f"CREATE TABLE notes (i INTEGER); {begin}SELECT sum(hash(i)) FROM range(100000000000) t(i)"
    query = start_cli("sql", "--write", script, "--db", str(store_copy))
    wait_for(lambda: cpu_seconds(query.pid) > 1.5, query, what="the second statement to run")
    query.send_signal(signal.SIGINT)
    try:
        _, err = query.communicate(timeout=30)
    finally:
        query.kill()
    assert query.returncode == 130, err
    con = duckdb.connect(str(store_copy), read_only=True)
    kept = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'notes'").fetchone()[0]
    con.close()
    if begin:
        assert err.strip().splitlines() == ["lossdb: interrupted after saving its changes to the store"]
        assert kept == 1
    else:
        assert err.strip().splitlines() == ["lossdb: interrupted; the store is unchanged"]
        assert kept == 0


def test_write_scripts_count_their_commits_only(store_copy):
    """What that message rests on: a statement in an explicit transaction is not saved until COMMIT."""
    from lossdb.queries import core
    from lossdb.queries import db as store_db

    con = store_db.connect(store_copy, read_only=False)
    try:
        for script, commits in (("BEGIN; CREATE TABLE a (i INTEGER); INSERT INTO a VALUES (1)", 0), ("COMMIT", 1),
                                ("BEGIN TRANSACTION; CREATE TABLE b (i INTEGER); ROLLBACK", 0),
                                ("CREATE TABLE c (i INTEGER); INSERT INTO c VALUES (1); SELECT 1", 1),  # one transaction
                                ("CREATE TABLE d (i INTEGER); CHECKPOINT", 2)):  # no transaction may hold CHECKPOINT
            before = store_db.saved_changes()
            core.adhoc(con, script, write=True)
            assert store_db.saved_changes() - before == commits, script
    finally:
        con.close()


FINALIZER_INTERRUPTED = """
import signal, sys, time
import typer
from lossdb.cli.common import errors

class Finalized:
    def __del__(self):
        signal.raise_signal(signal.SIGINT)  # Ctrl-C lands while a finalizer runs

try:
    with errors():
        Finalized()  # dropped at once: its __del__ runs here
        time.sleep(5)
        print("ran on")
except typer.Exit as e:
    sys.exit(e.exit_code)
"""


def test_an_interrupt_in_a_finalizer_still_stops_the_command():
    """Python prints and drops a KeyboardInterrupt raised in __del__; lossdb raises it again."""
    done = subprocess.run([sys.executable, "-c", FINALIZER_INTERRUPTED], capture_output=True, text=True, timeout=60,
                          preexec_fn=heed_ctrl_c)
    assert done.returncode == 130, done.stderr
    assert done.stderr.strip().splitlines() == ["lossdb: interrupted; the store is unchanged"]
    assert done.stdout == ""


# --- names and text round-trip exactly -------------------------------------------------------------

AWKWARD_NAMES = [
    "it's",
    'say "hi"',
    "x'; DROP TABLE runs; --",
    "semi;colon",
    "Läufe 東京 שלום مرحبا 😀",
    " leading and trailing ",
    "back\\slash $run %_ ?",
]


def test_awkward_names_round_trip_through_the_cli(tmp_path, wordpiece_model):
    name = AWKWARD_NAMES[2] + " " + AWKWARD_NAMES[4]
    data = tmp_path / "dätä 'q'; \"x\" 東京.jsonl"
    words = ["O'Brien", 'say "x"', "a;b", "東京", "שלום", "😀", "--", "'; DROP TABLE tokens; --"]
    data.write_text(json.dumps({"tokens": words, "ner_tags": ["B-PER"] + ["O"] * 7}, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    db = tmp_path / "störe 'q'.duckdb"
    result = run_cli("ingest", "-m", wordpiece_model, "-d", str(data), "--run", name, "--db", str(db))
    assert result.returncode == 0, result.stderr
    runs = json.loads(run_cli("runs", "-f", "json", "--db", str(db)).stdout)
    assert [(r["run_id"], r["data_source"]) for r in runs] == [(name, str(data))]
    top = run_cli("top", "--run", name, "-f", "json", "--db", str(db))
    assert top.returncode == 0, top.stderr
    assert json.loads(top.stdout)[0]["run"] == name
    bound = run_cli("sql", "SELECT words FROM sequences WHERE run_id = $r", "-p", f"r={name}", "-f", "json",
                    "--db", str(db))
    assert json.loads(bound.stdout) == [{"words": words}]
    assert run_ids(db) == {name}


def test_awkward_run_names_round_trip(tmp_path, wordpiece_model, other_data):
    from lossdb.ingest import ingest
    from lossdb.queries import db as store_db

    from lossdb import queries

    db = tmp_path / "names.duckdb"
    for name in AWKWARD_NAMES:
        ingest(wordpiece_model, str(other_data), db=str(db), run=name, progress=False)
    assert run_ids(db) == set(AWKWARD_NAMES)
    con = store_db.connect(db)
    for name in AWKWARD_NAMES:
        assert {r["run_id"] for r in queries.top(con, 2, run=name).records()} == {name}
    con.close()
    for name in AWKWARD_NAMES[:3]:  # and from the command line, refused as existing by exact name
        assert_clean_error(run_cli("ingest", "-m", wordpiece_model, "-d", str(other_data), "--run", name,
                                   "--db", str(db)), repr(name))


@pytest.mark.parametrize("name, needle", [("", "is blank"), ("  ", "is blank"), ("\t", "is blank")])
def test_unusable_run_names_are_refused(name, needle, store_copy, wordpiece_model, other_data):
    before = content(store_copy)
    assert_clean_error(run_cli("ingest", "-m", wordpiece_model, "-d", str(other_data), "--run", name,
                               "--db", str(store_copy)), needle, "(--run)")
    assert content(store_copy) == before


def test_label_versions_without_replace_is_refused(store_copy, wordpiece_model, other_data):
    assert_clean_error(run_cli("ingest", "-m", wordpiece_model, "-d", str(other_data), "--run", "new",
                               "--label-versions", "drop", "--db", str(store_copy)),
                       "--label-versions says what replacing a run does", "add --replace, or leave it out")
    assert run_ids(store_copy) == {"wp"}


# --- long sequences: windows or truncation, never dropped ------------------------------------------


def test_long_sequences_are_windowed_or_truncated_never_dropped(tmp_path, short_model):
    from transformers import AutoTokenizer

    sentences = demo.make_sentences(20, seed=9)
    sentences.append(([w for words, _ in sentences[:6] for w in words], [t for _, tags in sentences[:6] for t in tags]))
    data = demo.write_conll(sentences, tmp_path / "long.conll")
    db = tmp_path / "long.duckdb"
    tok = AutoTokenizer.from_pretrained(short_model)
    full = [len(tok(words, is_split_into_words=True)["input_ids"]) for words, _ in sentences]
    n_long = sum(n > 16 for n in full)
    assert n_long >= 10 and max(full) > 100

    result = run_cli("ingest", "-m", short_model, "-d", str(data), "--run", "win", "-q", "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert f"{n_long} scored in windows, 0 truncated" in result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr  # no transformers warning about the length

    result = run_cli("ingest", "-m", short_model, "-d", str(data), "--run", "cut", "--overflow", "truncate", "-q",
                     "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert f"0 scored in windows, {n_long} truncated" in result.stderr

    con = duckdb.connect(str(db), read_only=True)
    win = con.execute("SELECT seq_id, n_tokens, n_windows, truncated, len(words) FROM sequences "
                      "WHERE run_id = 'win' ORDER BY seq_id").fetchall()
    assert [r[1] for r in win] == full  # every token scored
    assert all((r[2] > 1) == (n > 16) and not r[3] for r, n in zip(win, full))
    labelled = con.execute("SELECT seq_id, list(word_index ORDER BY position) FROM tokens "
                           "WHERE run_id = 'win' AND label IS NOT NULL GROUP BY seq_id ORDER BY seq_id").fetchall()
    assert [ids for _, ids in labelled] == [list(range(r[4])) for r in win]  # one labelled token per word
    positions = con.execute("SELECT seq_id, count(*), min(position), max(position), count(DISTINCT position) "
                            "FROM tokens WHERE run_id = 'win' GROUP BY seq_id ORDER BY seq_id").fetchall()
    assert [(c, lo, hi + 1, d) for _, c, lo, hi, d in positions] == [(n, 0, n, n) for n in full]

    cut = con.execute("SELECT n_tokens, truncated, n_windows FROM sequences WHERE run_id = 'cut' "
                      "ORDER BY seq_id").fetchall()
    assert [(min(n, 16), n > 16, 1) for n in full] == cut
    visible = con.execute("SELECT count(*) FROM sequence_losses WHERE run_id = 'cut' AND truncated").fetchone()[0]
    assert visible == n_long  # flagged where a query sees it
    # the words past the cut have no tag codes (0): the entity decoder skips them
    names = con.execute("SELECT label_names FROM runs WHERE run_id = 'cut'").fetchone()[0]
    for run in ("win", "cut"):
        for seq_id, labels, label_codes, pred_codes in con.execute(
                "SELECT seq_id, labels, label_codes, pred_codes FROM sequences WHERE run_id = ?", [run]).fetchall():
            scored = dict(con.execute("SELECT word_index, pred FROM tokens WHERE run_id = ? AND seq_id = ? "
                                      "AND label IS NOT NULL", [run, seq_id]).fetchall())
            assert label_codes == [names.index(label) + 1 if w in scored else 0 for w, label in enumerate(labels)]
            assert pred_codes == [names.index(scored[w]) + 1 if w in scored else 0 for w in range(len(labels))]
            assert run == "cut" or len(scored) == len(labels)
    con.close()
    # entity figures of the truncated run say what they leave out; the windowed run's say nothing
    note = (f"lossdb: note: run 'cut' truncated {n_long} sequences (--overflow truncate): words past the cut "
            "were not scored and count in no entity figure; --overflow window scores every word")
    for args in (["entities", "--run", "cut"], ["summary"], ["compare", "win", "cut", "--what", "entities"]):
        said = run_cli(*args, "--db", str(db))
        assert said.returncode == 0 and note in said.stderr.splitlines(), (args, said.stderr)
    assert "note" not in run_cli("entities", "--run", "win", "--db", str(db)).stderr


def test_ingest_while_this_process_holds_the_store_read_only(store_copy, other_data, wordpiece_model):
    """A notebook that has the store open (lossdb.connect) and ingests into it is told why, before scoring."""
    from lossdb.ingest import ingest

    import lossdb
    from lossdb.errors import StoreError

    before = file_state(store_copy)
    store = lossdb.connect(store_copy)
    try:
        with pytest.raises(StoreError, match="already open in this process"):
            ingest(wordpiece_model, str(other_data), db=str(store_copy), run="nb", progress=False)
    finally:
        store.close()
    assert file_state(store_copy) == before


def test_interrupts_inside_a_tokenizers_first_call_wait_for_its_end():
    """A Ctrl-C inside native code that calls back into Python (tokenizers importing NumPy's C API
    on its first call) made Rust panic and print a backtrace; inside the deferred section it is
    delivered, once, as the section ends, to the handler that was there."""
    from lossdb.ingest import scoring

    inside = []
    before = signal.signal(signal.SIGINT, signal.default_int_handler)  # (a suite run in the background ignores it)
    try:
        with pytest.raises(KeyboardInterrupt):
            with scoring._interrupts_deferred():
                os.kill(os.getpid(), signal.SIGINT)
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.2)  # a handler would run here; the deferred one only notes it
                inside.append("reached the end")
        assert inside == ["reached the end"]
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is back
    finally:
        signal.signal(signal.SIGINT, before)


def test_a_transaction_whose_connection_closed_under_it_ends_with_the_interrupt():
    """Ctrl-C as an ingest began its commit once printed 'Exception ignored in: <generator object
    transaction>' and a ConnectionException from the ROLLBACK of a connection already closed."""
    from lossdb.queries.db import transaction

    con = duckdb.connect()
    block = transaction(con)
    block.__enter__()
    con.close()  # closing rolled the transaction back
    assert block.__exit__(KeyboardInterrupt, KeyboardInterrupt(), None) is False  # the interrupt goes on
