"""`ingest --engine ray` on a real local Ray cluster (2 CPUs, one cluster for the module).

The store a Ray ingest writes equals a plain ingest's row for row; a worker killed in the
middle of a chunk is restarted and its chunk retried; a worker that dies every time fails the
ingest with one line and the store unchanged.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import ray

from lossdb.errors import EngineError, UsageError
from lossdb.ingest import ingest, ray_engine, writer

from .conftest import fetch, run_cli
from .test_ingest import token_rows

# Small chunks, so that 60 sequences make several chunks shared by both workers.
CHUNK = 8


@pytest.fixture(scope="module")
def ray_cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def plain_store(tmp_path_factory, wordpiece_model, conll_file):
    path = tmp_path_factory.mktemp("plain") / "plain.duckdb"
    ingest(wordpiece_model, str(conll_file), db=str(path), run="r", progress=False, chunk_size=CHUNK)
    return path


def sequence_rows(path, run="r"):
    return fetch(path, "SELECT seq_id, seq_key, words, labels, n_tokens, n_windows, truncated, n_labelled, n_errors, "
                       "label_codes, pred_codes, total_loss FROM sequences WHERE run_id = ? ORDER BY seq_id", [run])


def run_record(path, run="r"):
    return fetch(path, "SELECT model_revision, label_names, n_sequences, n_tokens, n_windowed, n_truncated, params "
                       "FROM runs WHERE run_id = ?", [run], one=True)


def assert_same_store(a, b):
    rows_a, rows_b = token_rows(a, "r"), token_rows(b, "r")
    assert len(rows_a) == len(rows_b) > 0
    assert [r[:7] for r in rows_a] == [r[:7] for r in rows_b]
    assert np.allclose([r[7] for r in rows_a], [r[7] for r in rows_b], atol=1e-5, rtol=0)
    assert np.allclose([r[8] for r in rows_a], [r[8] for r in rows_b], atol=1e-5, rtol=0)
    seq_a, seq_b = sequence_rows(a), sequence_rows(b)
    assert [s[:-1] for s in seq_a] == [s[:-1] for s in seq_b]
    assert np.allclose([s[-1] for s in seq_a], [s[-1] for s in seq_b], atol=1e-4)
    assert run_record(a)[:-1] == run_record(b)[:-1]


def test_ray_store_equals_a_plain_ingest(ray_cluster, plain_store, wordpiece_model, conll_file, tmp_path):
    """With --staging a plain folder (on a cluster: a shared file system), read in place."""
    db, staging = tmp_path / "ray.duckdb", tmp_path / "shared-folder"
    staging.mkdir()
    summary = ingest(wordpiece_model, str(conll_file), db=str(db), run="r", progress=False, chunk_size=CHUNK,
                     engine="ray", workers=2, staging=str(staging))
    assert summary.n_sequences == 60
    assert_same_store(plain_store, db)
    params = json.loads(run_record(db)[-1])
    assert (params["engine"], params["workers"], params["ray_chunk_size"]) == ("ray", 2, CHUNK)
    assert json.loads(run_record(plain_store)[-1])["engine"] == "local"
    assert list(staging.iterdir()) == []  # the parts are removed after the commit


def test_a_killed_worker_is_restarted_and_its_chunk_retried(ray_cluster, plain_store, wordpiece_model, conll_file,
                                                             tmp_path, monkeypatch):
    """The parts go through a file:// URI here (written with pyarrow's file systems, copied back
    for the commit, deleted after it), as they would through s3:// on a cluster."""
    ticket = tmp_path / "kill-one-worker"
    ticket.write_text("")
    monkeypatch.setenv("LOSSDB_FAULT", f"ray-worker:{ticket}")
    staging = tmp_path / "shared-staging"
    staging.mkdir()
    db = tmp_path / "ray.duckdb"
    ingest(wordpiece_model, str(conll_file), db=str(db), run="r", progress=False, chunk_size=CHUNK, engine="ray",
           staging=staging.as_uri())
    assert not ticket.exists()  # a worker took the ticket: it killed itself after a chunk's token part
    assert_same_store(plain_store, db)
    assert list(staging.iterdir()) == []  # the parts are removed after the commit


def test_a_worker_that_always_dies_fails_cleanly(ray_cluster, store_copy, wordpiece_model, conll_file, monkeypatch):
    before = token_rows(store_copy, "wp"), run_record(store_copy, "wp")
    monkeypatch.setenv("LOSSDB_FAULT", "ray-worker")
    monkeypatch.setattr(ray_engine, "RETRIES", 1)  # each retry loads the model again: keep the test short
    with pytest.raises(EngineError, match="the Ray engine failed") as caught:
        ingest(wordpiece_model, str(conll_file), db=str(store_copy), run="again", progress=False,
               chunk_size=30, engine="ray", workers=1)
    assert "store is unchanged" in str(caught.value) and "\n" not in str(caught.value)
    assert (token_rows(store_copy, "wp"), run_record(store_copy, "wp")) == before
    assert run_record(store_copy, "again") is None
    assert writer.staging_folder(os.getpid()) is None


def test_ray_options_are_checked_before_anything_runs(wordpiece_model, conll_file, tmp_path):
    db = str(tmp_path / "x.duckdb")
    with pytest.raises(UsageError, match="options of --engine ray"):
        ingest(wordpiece_model, str(conll_file), db=db, workers=2)
    with pytest.raises(UsageError, match="--workers must be at least 1"):
        ingest(wordpiece_model, str(conll_file), db=db, engine="ray", workers=0)
    with pytest.raises(UsageError, match="--staging folder .* does not exist"):
        ingest(wordpiece_model, str(conll_file), db=db, engine="ray", staging=str(tmp_path / "absent"))
    with pytest.raises(UsageError, match="unknown --engine"):
        ingest(wordpiece_model, str(conll_file), db=db, engine="spark")
    assert not (tmp_path / "x.duckdb").exists()


def test_an_address_nothing_answers_on_is_one_line_at_once(wordpiece_model, conll_file, tmp_path):
    import socket

    with socket.socket() as free:  # a port nothing listens on once this closes
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    db = tmp_path / "x.duckdb"
    result = run_cli("ingest", "--engine", "ray", "--ray-address", f"127.0.0.1:{port}", "--model", str(wordpiece_model),
                     "--data", str(conll_file), "--db", str(db), "-q")
    assert result.returncode == 6, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(
        f"lossdb: error: cannot reach the Ray cluster at 127.0.0.1:{port}: Connection refused; start one with")
    assert not db.exists()
    bad = run_cli("ingest", "--engine", "ray", "--ray-address", "somewhere", "--model", str(wordpiece_model),
                  "--data", str(conll_file), "--db", str(db), "-q")
    assert bad.returncode == 6 and "--ray-address 'somewhere' is not HOST:PORT" in bad.stderr


def test_a_plain_ingest_imports_neither_ray_nor_onnxruntime(wordpiece_model, conll_file, tmp_path):
    code = ("import sys\nfrom lossdb.ingest import ingest\n"
            f"ingest({wordpiece_model!r}, {str(conll_file)!r}, db={str(tmp_path / 'p.duckdb')!r}, progress=False)\n"
            "print('RAY', [m for m in ('ray', 'onnxruntime') if m in sys.modules])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert "RAY []" in result.stdout, result.stderr


def test_cli_engine_ray_with_a_shard(plain_store, wordpiece_model, conll_file, tmp_path):
    """The command line in its own process, which starts a local cluster and stops it again;
    --shard splits a Ray ingest as it does a plain one (lossdb merge then joins the shards)."""
    from .conftest import run_cli

    db = tmp_path / "cli.duckdb"
    result = run_cli("ingest", "--engine", "ray", "--workers", "2", "--shard", "1/2", "--model", wordpiece_model,
                     "--data", str(conll_file), "--db", str(db), "--run", "r", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "ingested run 'r': 30 sequences" in result.stderr
    odd = [r for r in token_rows(plain_store, "r") if r[0] % 2 == 1]
    rows_cli = token_rows(db, "r")
    assert [r[:7] for r in odd] == [r[:7] for r in rows_cli]
    assert np.allclose([r[7] for r in odd], [r[7] for r in rows_cli], atol=1e-5, rtol=0)


def test_gpus_the_cluster_lacks_are_refused_in_one_line(store_copy, wordpiece_model, conll_file):
    """Ray would wait without end for a GPU this CPU cluster does not have; Ray Data also needs
    an integer batch size with GPUs (it was None: an internal error before anything ran)."""
    before = run_record(store_copy, "wp")
    result = run_cli("ingest", "--engine", "ray", "--workers", "1", "--gpus-per-worker", "1", "--model", wordpiece_model,
                     "--data", str(conll_file), "--db", str(store_copy), "--run", "gpu", "-q")
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("lossdb:")]
    assert lines == ["lossdb: error: --gpus-per-worker 1 asks for more GPUs than the Ray cluster has (0); leave out "
                     "--gpus-per-worker to score on CPUs, or add machines with GPUs to the cluster"]
    assert "Traceback" not in result.stderr
    assert run_record(store_copy, "wp") == before and run_record(store_copy, "gpu") is None


def test_errors_are_the_plain_engines_one_line(store_copy, wordpiece_model, conll_file):
    """An option the model cannot take is refused before Ray starts; a data error found in a
    worker (standard input is read once, by the workers' chunks) comes back as itself."""
    bad = '{"tokens": ["Hans", "lebt"], "ner_tags": ["B-PER", "B-FOO"]}\n'
    cases = [(["--max-length", "9999", "--data", str(conll_file)], None, 2), (["--data", "-"], bad, 3)]
    for options, stdin, code in cases:
        args = ["ingest", "--model", wordpiece_model, "--db", str(store_copy), "--run", "new", "-q", *options]
        plain = run_cli(*args, input=stdin)
        on_ray = run_cli(*args, "--engine", "ray", "--workers", "1", input=stdin)
        assert plain.returncode == on_ray.returncode == code, on_ray.stderr
        line = plain.stderr.strip().splitlines()[-1]
        assert line.startswith("lossdb: error: ") and ("9999" in line or "B-FOO" in line)
        assert [s for s in on_ray.stderr.splitlines() if s.startswith("lossdb:")] == [line]
        assert "Traceback" not in on_ray.stderr and "actor died" not in on_ray.stderr
    assert run_record(store_copy, "new") is None


def test_a_worker_that_cannot_start_says_why(ray_cluster, wordpiece_model, conll_file, tmp_path):
    """What only a worker finds as it loads the model (here an unknown dtype) comes back as the
    error itself, not as Ray's 'the actor died' with its traceback."""
    with pytest.raises(UsageError, match=r"^unknown dtype 'double'; choose one of float32"):
        ingest(wordpiece_model, str(conll_file), db=str(tmp_path / "x.duckdb"), progress=False, engine="ray",
               workers=1, dtype="double")
    assert not (tmp_path / "x.duckdb").exists()


def test_sigterm_during_a_ray_ingest_is_an_interrupt(store_copy, wordpiece_model, tmp_path):
    """`kill PID` once Ray runs: lossdb's one line and exit 130, not Ray's handler (exit 15, a
    stack dump); the store unchanged, the parts gone."""
    import signal
    import time

    from lossdb import demo

    data = demo.write_conll(demo.make_sentences(3000, seed=5), tmp_path / "long.conll")
    staging = tmp_path / "staging"
    staging.mkdir()
    before = run_record(store_copy, "wp")
    env = {k: v for k, v in os.environ.items() if k != "LOSSDB_DB"}
    process = subprocess.Popen([sys.executable, "-m", "lossdb.cli.app", "ingest", "--engine", "ray", "--workers", "1",
                                "--batch-size", "1", "--staging", str(staging), "--model", wordpiece_model,
                                "--data", str(data), "--db", str(store_copy), "--run", "long", "-q"],
                               stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    while not list(staging.glob("*/tokens-*.parquet")) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)  # a worker wrote its first part: Ray is running
    assert process.poll() is None, "the ingest ended before it could be interrupted"
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "lossdb: interrupted; the store is unchanged"
    assert run_record(store_copy, "wp") == before and run_record(store_copy, "long") is None
    assert list(staging.iterdir()) == []


def test_merge_records_each_shards_engine(ray_cluster, wordpiece_model, conll_file, tmp_path):
    """Shard 0 scored here, shard 1 on Ray: the merged run says so (it said shard 0's "local")."""
    from lossdb.ingest.merge import merge

    shards = [tmp_path / "s0.duckdb", tmp_path / "s1.duckdb"]
    ingest(wordpiece_model, str(conll_file), db=str(shards[0]), run="r", shard="0/2", progress=False)
    ingest(wordpiece_model, str(conll_file), db=str(shards[1]), run="r", shard="1/2", progress=False,
           chunk_size=CHUNK, engine="ray", workers=2)
    merge(str(tmp_path / "all.duckdb"), [str(s) for s in reversed(shards)])
    params = json.loads(run_record(tmp_path / "all.duckdb")[-1])
    assert params["engine"] == "mixed" and "workers" not in params
    assert [(e["shard"], e["engine"], e.get("workers")) for e in params["shard_engines"]] == \
        [([0, 2], "local", None), ([1, 2], "ray", 2)]
    same = tmp_path / "same.duckdb"  # shards scored alike keep a single ingest's params
    ingest(wordpiece_model, str(conll_file), db=str(tmp_path / "t1.duckdb"), run="r", shard="1/2", progress=False)
    merge(str(same), [str(shards[0]), str(tmp_path / "t1.duckdb")])
    kept = json.loads(run_record(same)[-1])
    assert kept["engine"] == "local" and "shard_engines" not in kept
