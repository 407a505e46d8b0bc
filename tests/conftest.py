"""Shared fixtures: tiny real models (both tokenizer styles), small data files, built stores.

Everything is built on the spot with lossdb.demo's builders (real tokenizers trained with
`tokenizers`, real transformers models saved and loaded back through from_pretrained) and
cached for the session.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from lossdb import demo

SHARED = Path(__file__).resolve().parents[2] / "shared"
PANX = SHARED / "data" / "panx-de" / "validation.conllu"
PANX_MODEL = SHARED / "models" / "minilm-panx-de"

needs_shared = pytest.mark.skipif(not (PANX.exists() and PANX_MODEL.exists()),
                                  reason="../shared (PAN-X data and model) is not present")


@pytest.fixture(autouse=True)
def _no_default_store(monkeypatch):
    """Tests name their store explicitly; never touch ./lossdb.duckdb."""
    monkeypatch.delenv("LOSSDB_DB", raising=False)


@pytest.fixture(scope="session")
def sentences():
    """60 synthetic sentences (words, IOB2 tags); several words split into subwords."""
    return demo.make_sentences(60, seed=7)


@pytest.fixture(scope="session")
def model_dirs(tmp_path_factory, sentences):
    """{'wordpiece': dir, 'sentencepiece': dir}: random-init tiny models with PAN-X labels."""
    corpus = [words for words, _ in demo.make_sentences(400, seed=3)]
    root = tmp_path_factory.mktemp("models")
    built = {}
    for kind in ("wordpiece", "sentencepiece"):
        tok = demo.build_tokenizer(kind, corpus, root / f"{kind}-tok", vocab_size=300)
        built[kind] = demo.build_model(tok, root / kind, kind=kind, seed=1)
    return built


@pytest.fixture(scope="session")
def wordpiece_model(model_dirs):
    return str(model_dirs["wordpiece"])


@pytest.fixture(scope="session")
def sentencepiece_model(model_dirs):
    return str(model_dirs["sentencepiece"])


@pytest.fixture(scope="session")
def conll_file(tmp_path_factory, sentences):
    return demo.write_conll(sentences, tmp_path_factory.mktemp("data") / "sample.conll")


@pytest.fixture(scope="session")
def built_store(tmp_path_factory, wordpiece_model, conll_file):
    """A store with one complete run 'wp' of the wordpiece model over conll_file (do not modify)."""
    from lossdb.ingest import ingest

    path = tmp_path_factory.mktemp("store") / "built.duckdb"
    ingest(wordpiece_model, str(conll_file), db=str(path), run="wp", progress=False)
    return path


@pytest.fixture
def store_copy(tmp_path, built_store):
    """A private copy of built_store that a test may change."""
    import shutil

    target = tmp_path / "copy.duckdb"
    shutil.copy(built_store, target)
    return target


def fetch(path, sql: str, params=(), *, one: bool = False):
    """The rows (or with one=True the first row) of `sql` on the store at `path`, opened read-only and closed again."""
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        result = con.execute(sql, list(params))
        return result.fetchone() if one else result.fetchall()
    finally:
        con.close()


def run_cli(*args: str, env: dict | None = None, input: str | None = None):
    """Run `lossdb ARGS` in a subprocess, as a user would; returns CompletedProcess."""
    import subprocess
    import sys

    full_env = {k: v for k, v in os.environ.items() if k != "LOSSDB_DB"}
    full_env.update({"PYTHONUNBUFFERED": "1", **(env or {})})
    return subprocess.run([sys.executable, "-m", "lossdb.cli.app", *args], capture_output=True, text=True,
                          env=full_env, input=input, timeout=600)


def version_scores(path, run: str, version: str) -> tuple[dict, dict]:
    """What the store keeps as posterior_softmin (which the default, rank_mean, ranks) of every
    sequence of `run` under label `version` (version_quality) and what the macro recomputes from
    the token rows, by seq_id."""
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        stored = dict(con.execute("SELECT seq_id, posterior_softmin FROM version_quality WHERE run_id = $r AND version = $v",
                                  {"r": run, "v": version}).fetchall())
        fresh = dict(con.execute("SELECT s.seq_id, q.posterior_softmin FROM sequences AS s "
                                 "LEFT JOIN posterior_quality($r, p_labels := $v) AS q USING (seq_id) WHERE s.run_id = $r",
                                 {"r": run, "v": version}).fetchall())
    finally:
        con.close()
    return stored, fresh
