"""One implementation surface: the CLI calls Store, Store calls the query functions, Results are
read by column name, errors speak the caller's words."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import lossdb
from lossdb.errors import LabelImportError, LossdbError, StoreError, UsageError
from lossdb.queries import db as store_db
from lossdb.queries import versions
from lossdb.queries.result import Result

from .conftest import run_cli

ROOT = Path(__file__).resolve().parents[1]


def test_result_is_read_by_column_name():
    result = Result(["seq_id", "total_loss", "text"], [(3, 1.5, "a b"), (7, 0.5, "c")])
    assert result.column("total_loss") == [1.5, 0.5]
    assert result.one() == {"seq_id": 3, "total_loss": 1.5, "text": "a b"}
    assert result.value("text") == "a b"
    assert result.select(["text", "seq_id"]).rows == [("a b", 3), ("c", 7)]
    assert result.drop(["text"]).columns == ["seq_id", "total_loss"]
    assert Result.from_records(["text", "seq_id"], result.records()).rows == [("a b", 3), ("c", 7)]
    with pytest.raises(KeyError, match="no column 'loss'.*seq_id, total_loss, text"):
        result.column("loss")
    with pytest.raises(LookupError):
        Result(["n"], []).one()


def test_a_store_opened_without_frames_returns_results_and_never_imports_pandas(built_store):
    code = ("import sys, lossdb\n"
            f"store = lossdb.connect({str(built_store)!r}, frames=False)\n"
            "top = store.top(3)\n"
            "print(type(top).__name__, top.column('rank'), 'pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["Result", "[1,", "2,", "3]", "False"]


def test_frames_and_results_are_the_same_answers(built_store):
    with lossdb.connect(built_store) as frames, lossdb.connect(built_store, frames=False) as results:
        assert frames.top(5)["seq_id"].tolist() == results.top(5).column("seq_id")
        assert frames.loss_by_label()["label"].tolist() == results.loss_by_label().column("label")
        matrix = frames.confusion()
        long = results.confusion()
        assert matrix.index.tolist() == long.column("label")
        assert matrix.loc["O"].tolist() == list(long.select(matrix.columns.tolist()).rows[long.column("label").index("O")])


def test_what_the_cli_did_alone_is_in_the_library(built_store):
    with lossdb.connect(built_store, frames=False) as store:
        top = store.top(4, by="label_quality").column("seq_id")
        ranks = store.ranks(list(reversed(top)), by="label_quality")  # the demo's planted-error ranks
        assert ranks.column("rank") == [1, 2, 3, 4] and ranks.column("seq_id") == top
        assert store.ranks(top[2], by="label_quality").rows == [(3, top[2])]  # one id alone
        with pytest.raises(StoreError, match="run 'wp' has no sequence 1000000000") as missing:
            store.ranks([top[2], 10**9], by="label_quality")  # an id the run lacks: said, not left out
        assert missing.value.parameter == "seq_ids"
        with pytest.raises(UsageError, match="seq_ids must be whole numbers"):
            store.ranks(["3"])
        every = store.consistency(labels="gold")
        assert store.consistency(n=1).rows == every.rows[:1]  # `consistency --n` slices in the library
    cli = run_cli("consistency", "--n", "1", "-f", "json", "--db", str(built_store))
    assert cli.returncode == 0, cli.stderr
    assert len(json.loads(cli.stdout)) == min(1, len(every))


def test_library_errors_name_the_parameter_and_the_cli_its_flag(built_store):
    con = store_db.connect(built_store)
    with pytest.raises(UsageError) as refused:
        versions.calibration(con, run="wp", bins=0)
    assert refused.value.parameter == "bins" and "--" not in str(refused.value)
    con.close()
    cli = run_cli("calibration", "--bins", "0", "--db", str(built_store))
    assert cli.returncode == 2 and cli.stderr.strip().endswith("(--bins)"), cli.stderr
    renamed = run_cli("import-labels", str(ROOT / "README.md"), "--as", "gold", "--db", str(built_store))
    assert renamed.returncode == 2 and "(--as)" in renamed.stderr, renamed.stderr


def test_the_cli_words_an_error_with_its_own_flags_and_python_with_its_parameters(built_store, tmp_path):
    """Where a fix names several options, each side says it in its own words: no "force=True" on
    the command line, no "--force" in Python."""
    taken = tmp_path / "taken.png"
    taken.write_bytes(b"x")
    cli = run_cli("plot", "confusion", "--out", str(taken), "--db", str(built_store))
    assert cli.returncode == 2 and cli.stderr.strip().endswith(
        "already exists; choose another path, or pass --force to replace it (--out)"), cli.stderr
    with pytest.raises(UsageError) as python:
        lossdb.connect(built_store).plot("confusion", taken)
    assert str(python.value).endswith("choose another path, or replace it (force=True)"), str(python.value)
    refused = run_cli("sql", "CREATE TABLE t (x INTEGER)", "--db", str(built_store))
    assert "pass --write to run it;" in refused.stderr and "write=True" not in refused.stderr, refused.stderr
    with pytest.raises(LossdbError, match="pass write=True to run it;"):
        lossdb.connect(built_store).sql("CREATE TABLE t (x INTEGER)")
    for args in (["sql", "SELECT $x"], ["search"], ["seen-unseen", "--train", "nope"]):
        line = run_cli(*args, "--db", str(built_store)).stderr
        assert "=True" not in line and "params=" not in line and "give train" not in line, line


def test_python_errors_name_python_arguments_and_take_what_a_notebook_passes(built_store, store_copy, tmp_path):
    """A missing store, a seq_id of the wrong type and a method named as a string: errors in
    Python's words (not --db, not DuckDB's conversion error, not the letters of 'softmin')."""
    with pytest.raises(StoreError) as missing:
        lossdb.connect(tmp_path / "none.duckdb")
    assert "--db" not in str(missing.value) and "ingest into it first" in str(missing.value)
    assert "point --db (or $LOSSDB_DB)" in run_cli("top", "--db", str(tmp_path / "none.duckdb")).stderr
    store = lossdb.connect(built_store)
    with pytest.raises(UsageError, match="seq_id must be a whole number, not 'abc'") as refused:
        store.sequence("abc")
    assert refused.value.parameter == "seq_id"
    import numpy as np

    assert len(store.sequence(np.int64(1))) == len(store.sequence(1))  # a seq_id read from a DataFrame
    store.close()
    store = lossdb.connect(store_copy, read_only=False)
    store.export(tmp_path / "x.jsonl", ids="SELECT seq_id FROM sequences WHERE seq_id < 3")
    lines = [json.loads(line) for line in (tmp_path / "x.jsonl").read_text("utf-8").splitlines()]
    lines[0]["labels"] = ["B-LOC"] * len(lines[0]["words"])
    (tmp_path / "x.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines), "utf-8")
    store.import_labels(tmp_path / "x.jsonl", name="fixed")
    evaluated = store.evaluate_rankings("fixed", methods="softmin")  # (it was "unknown method 's'")
    assert list(evaluated["method"]) == ["softmin"]


def test_lossdb_debug_shows_the_cause_of_a_lossdb_error(built_store):
    plain = run_cli("sql", "SELEC 1", "--db", str(built_store))
    assert plain.returncode == 5 and len(plain.stderr.strip().splitlines()) == 1
    debug = run_cli("sql", "SELEC 1", "--db", str(built_store), env={"LOSSDB_DEBUG": "1"})
    assert debug.returncode == 5
    assert "Traceback" in debug.stderr and "ParserException" in debug.stderr  # DuckDB's own error, the cause
    assert "direct cause" in debug.stderr
    assert debug.stderr.strip().splitlines()[-1] == plain.stderr.strip()


def test_python_m_lossdb_is_the_command(built_store):
    result = subprocess.run([sys.executable, "-m", "lossdb", "runs", "-f", "json", "--db", str(built_store)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert [r["run_id"] for r in json.loads(result.stdout)] == ["wp"]


def test_every_error_type_lives_in_errors():
    from lossdb.ingest import labels

    assert labels.LabelImportError is LabelImportError
    assert issubclass(LabelImportError, lossdb.errors.InputError)


def test_the_demo_builders_live_outside_the_public_package():
    import lossdb.demo

    assert not (ROOT / "lossdb" / "demo.py").exists()
    assert Path(lossdb.demo.__file__).parent == ROOT / "demo"


@pytest.mark.parametrize("words", [["Angela", "Merkel", "besucht", "Köln"], ["ein Wort", "mit", "Leerzeichen"],
                                   ["▁(", "##en", "😀"], []])
def test_the_words_hash_is_one_rule_in_python_and_sql(built_store, words):
    from lossdb.ingest.score_steps import words_hash

    con = store_db.connect(built_store)
    sql_hash = con.execute("SELECT words_hash($w::VARCHAR[]) AS h", {"w": words}).fetchone()[0]
    con.close()
    assert sql_hash == words_hash(words)


def test_counts_in_messages_agree_with_their_nouns(built_store, tmp_path, wordpiece_model, sentences):
    from lossdb import demo
    from lossdb.text import counted

    assert [counted(n, "sequence") for n in (0, 1, 2, 1234)] == ["0 sequences", "1 sequence", "2 sequences",
                                                                "1,234 sequences"]
    assert counted(1, "entity change") == "1 entity change" and counted(3, "match", "matches") == "3 matches"
    one = demo.write_conll(sentences[:1], tmp_path / "one.conll")
    result = run_cli("ingest", "-m", wordpiece_model, "-d", str(one), "--run", "one", "-q", "--db",
                     str(tmp_path / "one.duckdb"))
    assert result.returncode == 0 and "run 'one': 1 sequence, " in result.stderr, result.stderr
