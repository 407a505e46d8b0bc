"""The lossdb command as a user runs it: top in every format, runs, sql, help, start-up cost."""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import duckdb
import pytest

import lossdb
from lossdb import sql
from lossdb.errors import UsageError
from lossdb.cli.app import app

from .conftest import run_cli


def expected_top(db, n, run="wp"):
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute(
        "SELECT seq_id, total_loss FROM sequence_losses WHERE run_id = ? ORDER BY total_loss DESC, seq_id LIMIT ?",
        [run, n]).fetchall()
    out = []
    for seq_id, total in rows:
        tokens = con.execute("SELECT token, coalesce(label, 'IGN'), pred, loss FROM tokens "
                             "WHERE run_id = ? AND seq_id = ? ORDER BY position", [run, seq_id]).fetchall()
        out.append((seq_id, total, tokens[1:]))  # the book drops the first special token
    con.close()
    return out


def test_top_json_matches_the_store(built_store):
    result = run_cli("top", "--n", "3", "--format", "json", "--db", str(built_store))
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)
    want = expected_top(built_store, 3)
    assert [g["seq_id"] for g in got] == [w[0] for w in want]
    for g, (seq_id, total, rows) in zip(got, want):
        # DESIGN.md's keys, and the scores `top --by` ranks by, which the table's heading shows too
        assert set(g) == {"run", "seq_id", "total_loss", "mean_loss", "label_quality", "tokens", "labels", "preds",
                          "losses"}
        assert g["run"] == "wp" and g["total_loss"] == pytest.approx(total)
        assert [g["mean_loss"], g["label_quality"]] == pytest.approx(stored_scores(built_store, seq_id))
        assert g["tokens"] == [r[0] for r in rows] and g["labels"] == [r[1] for r in rows]
        assert g["preds"] == [r[2] for r in rows]
        assert g["losses"] == pytest.approx([r[3] for r in rows])
        assert g["tokens"][-1] == "[SEP]" and g["tokens"][0] != "[CLS]"


def stored_scores(db, seq_id: int, run: str = "wp") -> list[float]:
    con = duckdb.connect(str(db), read_only=True)
    row = con.execute("SELECT mean_loss, label_quality FROM sequence_losses WHERE run_id = ? AND seq_id = ?",
                      [run, seq_id]).fetchone()
    con.close()
    return list(row)


def test_top_by_label_quality_carries_its_score_in_json_and_csv(built_store):
    got = json.loads(run_cli("top", "--n", "3", "--by", "label_quality", "-f", "json", "--db", str(built_store)).stdout)
    scores = [g["label_quality"] for g in got]
    assert scores == sorted(scores) and len(scores) == 3  # lowest (most suspect) first
    for g in got:
        assert [g["mean_loss"], g["label_quality"]] == pytest.approx(stored_scores(built_store, g["seq_id"]))
    rows = list(csv.DictReader(io.StringIO(run_cli("top", "--n", "3", "--by", "label_quality", "-f", "csv",
                                                   "--db", str(built_store)).stdout)))
    assert {int(r["seq_id"]): float(r["label_quality"]) for r in rows} == pytest.approx(
        {g["seq_id"]: g["label_quality"] for g in got})
    # each row's position is the token's in the store: the rows join with the tokens table
    con = duckdb.connect(str(built_store), read_only=True)
    for r in rows:
        token, loss = con.execute("SELECT token, loss FROM tokens WHERE run_id = 'wp' AND seq_id = ? AND position = ?",
                                  [int(r["seq_id"]), int(r["position"])]).fetchone()
        assert (token, loss) == (r["token"], pytest.approx(float(r["loss"])))
    con.close()


def test_top_table_is_the_books_layout(built_store):
    result = run_cli("top", "--n", "2", "--db", str(built_store), "--width", "0")
    assert result.returncode == 0, result.stderr
    blocks = result.stdout.strip().split("\n\n")
    assert len(blocks) == 2
    want = expected_top(built_store, 2)
    for block, (seq_id, total, rows) in zip(blocks, want):
        heading, header, tokens, labels, preds, losses = block.splitlines()
        assert f"seq_id {seq_id}" in heading and f"total_loss {total:.2f}" in heading
        assert header.split() == [str(i) for i in range(len(rows))]
        assert tokens.split() == ["tokens"] + [r[0] for r in rows]
        assert labels.split() == ["labels"] + [r[1] for r in rows]
        assert preds.split() == ["preds"] + [r[2] for r in rows]
        assert losses.split() == ["losses"] + [f"{r[3]:.2f}" for r in rows]


def test_top_table_elides_the_middle_when_too_wide(built_store):
    result = run_cli("top", "--n", "1", "--db", str(built_store), "--width", "60")
    lines = result.stdout.strip().splitlines()[1:]
    assert all(len(line) <= 60 for line in lines)
    header = lines[0].split()
    assert "..." in header and header[0] == "0"
    n = len(expected_top(built_store, 1)[0][2])
    assert header[-1] == str(n - 1)
    k = header.index("...")
    assert header[k + 1:] == [str(i) for i in range(n - (len(header) - k - 1), n)]


def test_top_csv_and_markdown(built_store):
    want = expected_top(built_store, 2)
    rows = list(csv.DictReader(io.StringIO(run_cli("top", "--n", "2", "-f", "csv", "--db", str(built_store)).stdout)))
    assert len(rows) == sum(len(w[2]) for w in want)
    assert [r["token"] for r in rows if r["rank"] == "1"] == [r[0] for r in want[0][2]]
    md = run_cli("top", "--n", "1", "-f", "markdown", "--db", str(built_store)).stdout
    assert "| tokens | " + " | ".join(r[0] for r in want[0][2]) + " |" in md


def test_top_ranks_by_mean_loss_and_label_quality(built_store):
    con = duckdb.connect(str(built_store), read_only=True)
    by_mean = [r[0] for r in con.execute(
        "SELECT seq_id FROM sequence_losses ORDER BY mean_loss DESC, seq_id LIMIT 3").fetchall()]
    by_quality = [r[0] for r in con.execute(
        "SELECT seq_id FROM sequence_losses ORDER BY label_quality ASC, seq_id LIMIT 3").fetchall()]
    con.close()
    for by, want in (("mean_loss", by_mean), ("label_quality", by_quality)):
        got = json.loads(run_cli("top", "--by", by, "-f", "json", "--db", str(built_store)).stdout)
        assert [g["seq_id"] for g in got] == want


def test_runs_and_sql(built_store):
    runs = json.loads(run_cli("runs", "--format", "json", "--db", str(built_store)).stdout)
    assert [r["run_id"] for r in runs] == ["wp"] and runs[0]["n_sequences"] == 60
    assert runs[0]["params"]["backend"] == "torch"  # how it was scored, as JSON (it was one quoted string)
    markdown = run_cli("runs", "-f", "markdown", "--db", str(built_store)).stdout
    assert '"backend": "torch"' in markdown and "'backend'" not in markdown  # JSON, not Python's repr
    assert "group_name" not in run_cli("runs", "--db", str(built_store)).stdout  # no groups: no such columns
    out = run_cli("sql", "SELECT count(*) AS n FROM tokens WHERE run_id = $run", "--param", "run=wp",
                  "-f", "csv", "--db", str(built_store))
    assert out.returncode == 0, out.stderr
    con = duckdb.connect(str(built_store), read_only=True)
    assert out.stdout.splitlines() == ["n", str(con.execute("SELECT count(*) FROM tokens").fetchone()[0])]
    con.close()


def test_tables_show_a_time_to_the_second_and_json_keeps_it_whole(built_store):
    """runs and labels printed created_at two ways (one to the second, one with microseconds and
    offset); every table now shows a time one way, as JSON and CSV keep it whole."""
    import re
    from datetime import datetime

    con = duckdb.connect(str(built_store), read_only=True)
    created = con.execute("SELECT created_at FROM runs WHERE run_id = 'wp'").fetchone()[0]
    con.close()
    shown = f"{created:%Y-%m-%d %H:%M:%S}"
    for command in ("runs", "labels"):
        table = run_cli(command, "--db", str(built_store)).stdout
        assert re.search(rf"\b{shown}\b(?![.+])", table), (command, table)
        whole = json.loads(run_cli(command, "-f", "json", "--db", str(built_store)).stdout)[0]["created_at"]
        assert datetime.fromisoformat(whole) == created
    assert shown in run_cli("sql", "SELECT created_at FROM runs", "--db", str(built_store)).stdout


def test_sql_explain_draws_the_plan_over_its_lines(built_store):
    """A table cell showed EXPLAIN's plan as one line of '\\n's; JSON keeps the text whole."""
    plan = run_cli("sql", "EXPLAIN SELECT * FROM sequence_losses", "--db", str(built_store))
    assert plan.returncode == 0, plan.stderr
    lines = plan.stdout.splitlines()
    assert len(lines) > 5 and "\\n" not in plan.stdout and "explain_key" not in plan.stdout
    assert lines[0].startswith("╭─") and any("SEQ_SCAN" in line or "Scan" in line for line in lines)
    whole = json.loads(run_cli("sql", "EXPLAIN SELECT * FROM sequence_losses", "-f", "json", "--db",
                               str(built_store)).stdout)
    assert whole[0]["explain_value"].splitlines() == lines


def test_sql_is_read_only_unless_write(store_copy):
    before = store_copy.read_bytes()
    for statement in ("DELETE FROM tokens", "DROP TABLE runs", "UPDATE runs SET model = 'x'",
                      "INSERT INTO runs SELECT * FROM runs"):
        result = run_cli("sql", statement, "--db", str(store_copy))
        assert result.returncode != 0
        assert result.stderr.startswith("lossdb: error:") and "--write" in result.stderr
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert store_copy.read_bytes() == before
    assert run_cli("sql", "DELETE FROM tokens WHERE seq_id = 0", "--write", "--db", str(store_copy)).returncode == 0
    left = json.loads(run_cli("sql", "SELECT count(*) AS n FROM tokens WHERE seq_id = 0", "-f", "json",
                              "--db", str(store_copy)).stdout)
    assert left == [{"n": 0}]


def test_read_only_commands_never_create_a_store(tmp_path):
    missing = tmp_path / "nope.duckdb"
    for args in (["top"], ["runs"], ["sql", "SELECT 1"]):
        result = run_cli(*args, "--db", str(missing))
        assert result.returncode != 0 and "no lossdb store" in result.stderr
        assert not missing.exists()


def test_python_api_matches_the_book_shapes(built_store):
    with lossdb.connect(built_store) as store:
        top = store.top(3)
        assert list(top["rank"]) == [1, 2, 3]
        want = expected_top(built_store, 3)
        assert list(top["seq_id"]) == [w[0] for w in want]
        samples = list(store.samples(3))
        assert len(samples) == 3
        frame = samples[0]
        assert list(frame.index) == ["tokens", "labels", "preds", "losses"]
        assert list(frame.loc["tokens"]) == [r[0] for r in want[0][2]]
        assert list(frame.loc["losses"]) == [f"{r[3]:.2f}" for r in want[0][2]]
        assert store.runs()["run_id"].tolist() == ["wp"]
        rows = store.sequence(int(want[0][0]))
        assert rows["token"].tolist()[1:] == [r[0] for r in want[0][2]]
        assert store.sql("SELECT count(*) AS n FROM runs WHERE run_id = $r", {"r": "wp"})["n"][0] == 1


def test_every_command_has_help():
    import typer.main

    group = typer.main.get_command(app)
    assert len(group.commands) >= 5
    for name, command in group.commands.items():
        assert command.help, f"{name} has no help"
        result = run_cli(name, "--help")
        assert result.returncode == 0 and "Usage" in result.stdout, name


def test_read_only_commands_do_not_import_the_ml_stack(built_store):
    code = ("import sys; from lossdb.cli.app import main; sys.argv = ['lossdb'] + sys.argv[1:]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('torch', 'transformers', 'datasets', 'pandas') if m in sys.modules]\n"
            "print('HEAVY', heavy, file=sys.stderr)")
    for args in (["top", "--n", "3"], ["runs"], ["sql", "SELECT 1"], ["top", "--help"]):
        result = subprocess.run([sys.executable, "-c", code, *args, *(["--db", str(built_store)] if args[-1] != "--help" else [])],
                                capture_output=True, text=True)
        assert "HEAVY []" in result.stderr, (args, result.stderr)


def test_upgrade_fills_the_tag_codes_of_a_store_written_before_them(store_copy):
    before = run_cli("entities", "--errors", "--by", "entity", "--n", "1000", "-f", "csv", "--db", str(store_copy))
    assert before.returncode == 0, before.stderr
    con = duckdb.connect(str(store_copy))
    codes = con.execute("SELECT run_id, seq_id, label_codes, pred_codes FROM sequences ORDER BY ALL").fetchall()
    con.execute("UPDATE sequences SET label_codes = NULL, pred_codes = NULL")  # as an older lossdb left them
    con.execute("DROP TABLE lossdb_migrations")  # ... which recorded no migrations
    con.close()
    assert "lossdb upgrade" in run_cli("entities", "--db", str(store_copy)).stderr
    upgraded = run_cli("upgrade", "--db", str(store_copy))
    assert upgraded.returncode == 0 and f"filled the word tag codes of {len(codes)} sequences" in upgraded.stderr
    con = duckdb.connect(str(store_copy), read_only=True)
    assert con.execute("SELECT run_id, seq_id, label_codes, pred_codes FROM sequences ORDER BY ALL").fetchall() == codes
    con.close()
    after = run_cli("entities", "--errors", "--by", "entity", "--n", "1000", "-f", "csv", "--db", str(store_copy))
    assert after.stdout == before.stdout and len(after.stdout.splitlines()) > 10


def test_a_store_whose_views_another_lossdb_made_is_read_as_is_then_refreshed_by_upgrade(store_copy):
    con = duckdb.connect(str(store_copy))
    con.execute("CREATE OR REPLACE VIEW sequence_losses AS SELECT 'stale' AS stale")  # another lossdb's view
    con.execute("UPDATE lossdb_meta SET value = 'older' WHERE key = 'schema'")
    con.close()
    before = store_copy.read_bytes()
    result = run_cli("top", "--n", "1", "-f", "json", "--db", str(store_copy))
    assert result.returncode == 0, result.stderr  # this lossdb's views, for this reader only
    assert len(json.loads(result.stdout)) == 1 and store_copy.read_bytes() == before
    upgraded = run_cli("upgrade", "--db", str(store_copy))
    assert upgraded.returncode == 0 and "refreshed" in upgraded.stderr
    con = duckdb.connect(str(store_copy), read_only=True)
    assert "total_loss" in [d[0] for d in con.execute("SELECT * FROM sequence_losses LIMIT 0").description]
    con.close()


def test_a_dropped_view_is_read_as_this_lossdbs_then_restored_by_upgrade(store_copy):
    con = duckdb.connect(str(store_copy))
    con.execute("DROP VIEW sequence_losses")  # same fingerprint, one object gone (a `sql --write` by hand)
    con.close()
    result = run_cli("top", "--n", "1", "-f", "json", "--db", str(store_copy))
    assert result.returncode == 0 and len(json.loads(result.stdout)) == 1, result.stderr
    upgraded = run_cli("upgrade", "--db", str(store_copy))
    assert upgraded.returncode == 0 and "refreshed" in upgraded.stderr, upgraded.stderr
    con = duckdb.connect(str(store_copy), read_only=True)
    assert con.execute("SELECT count(*) FROM sequence_losses").fetchone()[0] == 60
    con.close()
    assert "already up to date" in run_cli("upgrade", "--db", str(store_copy)).stderr


def test_upgrade_restores_lossdb_meta_dropped_by_hand(store_copy):
    """It held only the views' fingerprint; upgrade crashed on the missing table (internal error)."""
    con = duckdb.connect(str(store_copy))
    con.execute("DROP TABLE lossdb_meta")
    con.close()
    upgraded = run_cli("upgrade", "--db", str(store_copy))
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stderr.splitlines()[:2] == ["lossdb: restored the table lossdb_meta",
                                                f"lossdb: refreshed {len(sql.schema_statements())} views and macros"], \
        upgraded.stderr
    assert "already up to date" in run_cli("upgrade", "--db", str(store_copy)).stderr
    assert run_cli("top", "--n", "1", "--db", str(store_copy)).returncode == 0


def test_a_table_dropped_by_hand_is_said_as_such(store_copy):
    con = duckdb.connect(str(store_copy))
    con.execute("DROP TABLE version_quality")
    con.close()
    result = run_cli("issues", "--n", "1", "--db", str(store_copy))
    assert result.returncode == 4 and result.stdout == ""
    assert result.stderr.startswith("lossdb: error: the store lacks a table or column lossdb reads, as if changed by "
                                    "hand: Catalog Error: Table with name version_quality does not exist"), result.stderr
    assert "SHOW TABLES" not in result.stderr  # the hints for SQL the user typed are not this one's


def test_a_closed_store_says_it_is_closed(store_copy):
    with lossdb.connect(store_copy) as store:
        assert len(store.top(1)) == 1
    assert "(closed)" in repr(store)
    with pytest.raises(lossdb.errors.StoreError, match="is closed; open it again"):
        store.top(1)
    store.close()  # twice: nothing
    # and then the same process may write to it, as the README's snippet does
    with lossdb.connect(store_copy, read_only=False) as writer:
        assert writer.sql("SELECT count(*) AS n FROM runs")["n"][0] >= 1


def test_version_names_lossdb_and_its_schema():
    from lossdb.queries import db

    result = run_cli("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"lossdb {lossdb.__version__} ({db.schema_version()})"


def test_sql_json_and_csv_write_data_other_tools_read(built_store):
    """JSON: NaN and infinities are null (they crashed the command), Decimals numbers; CSV: lists
    and structs as JSON text, not Python's repr."""
    query = ("SELECT ln(0) AS neg, 'inf'::DOUBLE AS pos, 'nan'::DOUBLE AS nan, 1.5::DECIMAL(4, 1) AS dec, "
             "[1.5::DECIMAL(4, 1), 2] AS decs, ['Anton', 'O''Brien'] AS words, {'x': 1, 'y': [0.5, 'nan'::DOUBLE]} AS s")
    result = run_cli("sql", query, "-f", "json", "--db", str(built_store))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [{"neg": None, "pos": None, "nan": None, "dec": 1.5, "decs": [1.5, 2.0],
                                          "words": ["Anton", "O'Brien"], "s": {"x": 1, "y": [0.5, None]}}]
    result = run_cli("sql", query, "-f", "csv", "--db", str(built_store))
    assert result.returncode == 0, result.stderr
    row = next(csv.DictReader(io.StringIO(result.stdout)))
    assert json.loads(row["words"]) == ["Anton", "O'Brien"] and json.loads(row["decs"]) == [1.5, 2.0]
    assert json.loads(row["s"]) == {"x": 1, "y": [0.5, None]} and row["dec"] == "1.5"
    # two columns of one name are both kept, named as DuckDB names a subquery's (JSON kept the last)
    twice = "SELECT s.seq_id, s.total_loss, v.total_loss FROM sequences s JOIN sequences v USING (run_id, seq_id) LIMIT 1"
    result = run_cli("sql", twice, "-f", "json", "--db", str(built_store))
    assert result.returncode == 0 and list(json.loads(result.stdout)[0]) == ["seq_id", "total_loss", "total_loss_1"]
    import lossdb

    assert lossdb.connect(built_store).sql(twice).columns.tolist() == ["seq_id", "total_loss", "total_loss_1"]


def test_help_states_each_default_once():
    """An option whose help names its default ("[default: gold]") showed typer's too."""
    import re

    from typer.main import get_command
    from typer.testing import CliRunner

    commands = get_command(app).commands
    assert len(commands) > 25
    for name in commands:
        text = " ".join(CliRunner().invoke(app, [name, "--help"], terminal_width=200).output.split())
        for option in re.split(r" (?=--?[a-z])", text):
            assert option.count("[default:") <= 1, (name, option)


def test_options_of_another_view_are_refused_not_ignored(built_store):
    """`entities --category missed` printed the P/R/F1 table, and `--errors --n 2` every type:
    the option did nothing, without a word."""
    for args, said in ((["--category", "missed"], "--category applies to entities --errors --by entity only"),
                       (["--seq-id", "3"], "--seq-id applies to entities --errors --by entity only"),
                       (["--errors", "--n", "2"], "--n applies to entities --errors --by sequence|entity only"),
                       (["--errors", "--by", "sequence", "--seq-id", "3"], "--seq-id applies to"),
                       (["--by", "entity"], "--by applies to entities --errors only")):
        refused = run_cli("entities", *args, "--db", str(built_store))
        assert refused.returncode == 2 and refused.stdout == "" and said in refused.stderr, (args, refused.stderr)
    for args in (["--errors", "--by", "entity", "--n", "2", "--seq-id", "0"], ["--errors", "--by", "sequence", "--n", "2"]):
        assert run_cli("entities", *args, "--db", str(built_store)).returncode == 0, args
    # a sequence the run lacks is said, as issues --seq-id says it (it was an empty table, exit 0)
    absent = run_cli("entities", "--errors", "--by", "entity", "--seq-id", "99999", "--db", str(built_store))
    assert absent.returncode == 4 and "run 'wp' has no sequence 99999" in absent.stderr and absent.stdout == ""
    # the Python API refuses what the command line refuses (it returned the per-type table)
    store = lossdb.connect(built_store)
    for options in ({"n": 3}, {"category": "missed"}, {"seq_id": 5}, {"by": "sequence", "seq_id": 5}):
        with pytest.raises(UsageError, match=f"{next(iter(k for k in options if k != 'by'))} applies to by="):
            store.entity_errors(**options)
    for args, said in ((["top", "--width", "-1"], "--width must be 0 or more"),
                       (["consistency", "--examples", "-1"], "examples must be a whole number of 0 or more"),
                       (["top", "--db", ""], "--db is empty")):
        refused = run_cli(*args, *(["--db", str(built_store)] if "--db" not in args else []))
        assert refused.returncode == 2 and said in refused.stderr, (args, refused.stderr)


@pytest.mark.parametrize("args, said", [
    (["compare", "wp", "wp", "--what", "entities", "--n", "1"], "--n applies to compare --what sequences only"),
    (["compare", "wp", "wp", "--what", "labels", "--by", "mean_loss"], "--by applies to compare --what sequences only"),
    (["compare", "wp", "wp", "--mode", "strict"], "--mode applies to compare --what entities only"),
    (["issues", "--methods", "--n", "3"], "--methods lists every method, and --n does not apply to it"),
    (["issues", "--methods", "--evaluate", "x"], "--methods lists every method, and --evaluate does not apply"),
    (["issues", "--seq-id", "0", "--n", "3"], "--seq-id lists every labelled token of the sequence with all its "
                                              "scores, and --n does not apply to it"),
    (["issues", "--seq-id", "0", "--method", "min"], "and --method does not apply to it"),
    (["issues", "--force"], "--force replaces the file of --plot, and no --plot is given"),
])
def test_options_another_view_of_compare_or_issues_would_ignore_are_refused(args, said, built_store):
    """Each printed its table as if the option were not there (compare --what entities --n 1: every type)."""
    refused = run_cli(*args, "--db", str(built_store))
    assert refused.returncode == 2 and refused.stdout == "" and said in refused.stderr, refused.stderr


def test_compare_options_of_another_view_are_refused_in_python_too(built_store):
    store = lossdb.connect(built_store)
    with pytest.raises(UsageError, match=r"n applies to what='sequences' only"):
        store.compare("wp", "wp", what="entities", n=3)
    with pytest.raises(UsageError, match=r"mode applies to what='entities' only"):
        store.compare("wp", "wp", what="labels", mode="strict")


def test_top_names_the_label_version_it_judges_by(built_store, tmp_path):
    """The heading of `top --labels V` was gold's: nothing said which labels the table shows."""
    store = tmp_path / "v.duckdb"
    store.write_bytes(built_store.read_bytes())
    con = duckdb.connect(str(store))
    labels = con.execute("SELECT labels FROM sequences WHERE run_id = 'wp' AND seq_id = 3").fetchone()[0]
    con.execute("INSERT INTO sequence_labels VALUES ('wp', 'fixed', 3, $l)", {"l": ["O"] * len(labels)})
    con.execute("INSERT INTO label_versions VALUES ('wp', 'fixed', now(), 'hand', 1)")
    con.close()
    for args in ([], ["--format", "markdown"]):
        judged = run_cli("top", "--n", "2", "--labels", "fixed", *args, "--db", str(store)).stdout
        headings = [line for line in judged.splitlines() if "seq_id" in line]
        assert len(headings) == 2 and all(h.rstrip("*").endswith("run wp  labels fixed") for h in headings), judged
    gold = run_cli("top", "--n", "1", "--db", str(store)).stdout.splitlines()[0]
    assert gold.endswith("run wp"), gold


def test_export_ids_of_several_statements_and_issues_group_with_labels_are_refused(built_store, tmp_path):
    ids = run_cli("export", "--ids", "SELECT 1; SELECT 2", "--to", "jsonl", "-o", str(tmp_path / "x.jsonl"),
                  "--db", str(built_store))
    assert ids.returncode == 2 and "the ids query holds 2 statements" in ids.stderr and not (tmp_path / "x.jsonl").exists()
    grouped = run_cli("issues", "--group", "g", "--labels", "fixed", "--db", str(built_store))
    assert grouped.returncode == 2 and "judged against the gold labels" in grouped.stderr, grouped.stderr


def test_sql_errors_hint_at_their_own_fix(built_store):
    """Every failed statement was told to check the schema (DESCRIBE tokens), whatever failed."""
    for query, hint in (("SELECT nosuch FROM tokens", "list a table's columns with"),
                        ("SELECT 'a'::INTEGER", "cast the value"),
                        ("SELECT * FROM read_csv('/no/such.csv')", "check the path of the file"),
                        ("SELECT error('boom')", "fix the statement as the message says")):
        result = run_cli("sql", query, "--db", str(built_store))
        assert result.returncode == 5 and hint in result.stderr, (query, result.stderr)
    cast = run_cli("sql", "SELECT $k + 1", "--param", "k=3", "--db", str(built_store))
    assert cast.returncode == 5 and "e.g. $k::INTEGER (a --param is text)" in cast.stderr, cast.stderr


def test_options_that_would_be_ignored_are_refused(built_store, wordpiece_model, conll_file, tmp_path):
    """export --all --by, ingest --overflow truncate --stride and --words-column on a CoNLL file did
    nothing, without a word."""
    exported = run_cli("export", "--all", "--by", "total_loss", "--to", "jsonl", "-o", str(tmp_path / "e.jsonl"),
                       "--db", str(built_store))
    assert exported.returncode == 2 and "--by ranks the top --n, and --all chooses" in exported.stderr
    import lossdb  # and in Python alike
    from lossdb.errors import UsageError

    for choice in ({"everything": True}, {"ids": "SELECT 1"}, {"fold": "0/2"}):
        with pytest.raises(UsageError, match=f"by ranks the top n, and {next(iter(choice))} chooses") as refused:
            lossdb.connect(built_store).export(tmp_path / "e.jsonl", by="total_loss", **choice)
        assert refused.value.parameter == "by" and not (tmp_path / "e.jsonl").exists()
    store = tmp_path / "new.duckdb"
    for args, said in ((["--overflow", "truncate", "--stride", "4"], "--stride is the overlap of windows"),
                       (["--words-column", "w"], "--words-column names columns of JSON Lines, Parquet or a dataset"),
                       # an overlap no window can have was cut to one token less, and recorded as asked
                       (["--max-length", "16", "--stride", "14"], "stride 14 is not below a window's 14 tokens "
                                                                  "(max length 16, less 2 special)")):
        refused = run_cli("ingest", "-m", wordpiece_model, "-d", str(conll_file), *args, "--db", str(store))
        assert refused.returncode == 2 and said in refused.stderr, (args, refused.stderr)
    assert not store.exists() and not (tmp_path / "e.jsonl").exists()


def test_a_version_asked_of_a_run_with_none_says_to_import_one(built_store):
    """It offered "choose one of: 'gold'", which --evaluate then refused."""
    result = run_cli("issues", "--evaluate", "nosuch", "--db", str(built_store))
    assert result.returncode == 4 and result.stderr.strip() == (
        "lossdb: error: run 'wp' has no label version 'nosuch', nor any other (only gold, the source's labels); "
        "import corrections as a version first (lossdb import-labels FILE --as NAME) (--evaluate)"), result.stderr
