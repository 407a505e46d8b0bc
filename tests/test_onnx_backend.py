"""`ingest --backend onnxruntime`: the same rows as the torch backend, on both tokenizer styles."""
from __future__ import annotations

import json

import duckdb
import numpy as np
import pytest

from lossdb.errors import UsageError
from lossdb.ingest import ingest, onnx_backend

from .conftest import run_cli
from .test_ingest import token_rows


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("LOSSDB_CACHE", str(folder))
    return folder


def run_params(path, run):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("SELECT model_revision, params FROM runs WHERE run_id = ?", [run]).fetchone()
    finally:
        con.close()


@pytest.mark.parametrize("kind", ["wordpiece", "sentencepiece"])
def test_every_token_as_the_torch_backend(kind, model_dirs, conll_file, tmp_path, cache):
    model = str(model_dirs[kind])
    torch_db, onnx_db = tmp_path / "torch.duckdb", tmp_path / "onnx.duckdb"
    ingest(model, str(conll_file), db=str(torch_db), run="r", progress=False)
    ingest(model, str(conll_file), db=str(onnx_db), run="r", progress=False, backend="onnxruntime")
    rows_torch, rows_onnx = token_rows(torch_db, "r"), token_rows(onnx_db, "r")
    assert len(rows_torch) == len(rows_onnx) > 0
    # same tokens, labels and argmax predictions; every loss and probability within 1e-4
    assert [r[:7] for r in rows_torch] == [r[:7] for r in rows_onnx]
    losses = np.array([[a[7], b[7]] for a, b in zip(rows_torch, rows_onnx)])
    assert np.abs(losses[:, 0] - losses[:, 1]).max() <= 1e-4 and losses[:, 0].max() > 0
    assert np.abs(np.array([r[8] for r in rows_torch]) - np.array([r[8] for r in rows_onnx])).max() <= 1e-4

    revision, params = run_params(onnx_db, "r")
    params = json.loads(params)
    assert params["backend"] == "onnxruntime" and params["onnxruntime"] == onnx_backend.version()
    assert revision == run_params(torch_db, "r")[0]
    exports = list(onnx_backend.cache_folder(revision).glob("*.onnx"))
    assert len(exports) == 1


def test_the_export_is_cached_per_revision(wordpiece_model, conll_file, tmp_path, cache):
    ingest(wordpiece_model, str(conll_file), db=str(tmp_path / "a.duckdb"), run="r", progress=False,
           backend="onnxruntime", limit=5)
    (export,) = cache.glob("onnx/*/*.onnx")
    stamp = export.stat().st_mtime_ns
    ingest(wordpiece_model, str(conll_file), db=str(tmp_path / "b.duckdb"), run="r", progress=False,
           backend="onnxruntime", limit=5)
    assert list(cache.glob("onnx/*/*.onnx")) == [export] and export.stat().st_mtime_ns == stamp  # reused
    assert not list(cache.glob("onnx/*/*.partial"))


def test_a_model_that_cannot_be_exported_is_one_line_naming_its_type(wordpiece_model, conll_file, tmp_path, cache):
    """FNet mixes tokens with a Fourier transform, which ONNX export does not support."""
    from transformers import AutoConfig, AutoTokenizer, FNetConfig, FNetForTokenClassification

    labels = AutoConfig.from_pretrained(wordpiece_model).id2label
    tokenizer = AutoTokenizer.from_pretrained(wordpiece_model)
    config = FNetConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1, intermediate_size=64,
                        max_position_embeddings=128, id2label=labels, label2id={v: k for k, v in labels.items()},
                        pad_token_id=tokenizer.pad_token_id)
    folder = tmp_path / "fnet"
    FNetForTokenClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    db = tmp_path / "x.duckdb"
    result = run_cli("ingest", "--backend", "onnxruntime", "--model", str(folder), "--data", str(conll_file),
                     "--db", str(db), "--quiet", env={"LOSSDB_CACHE": str(cache)})
    assert result.returncode == 3, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("lossdb: error: cannot export the fnet model to ONNX"), result.stderr
    assert "Traceback" not in result.stderr and "--backend torch" in lines[-1]
    assert not db.exists() and not list(cache.glob("onnx/*/*"))


def test_onnxruntime_runs_float32_only(wordpiece_model, conll_file, tmp_path):
    with pytest.raises(UsageError, match="float32 only"):
        ingest(wordpiece_model, str(conll_file), db=str(tmp_path / "x.duckdb"), backend="onnxruntime",
               dtype="bfloat16")
    with pytest.raises(UsageError, match="unknown --backend"):
        ingest(wordpiece_model, str(conll_file), db=str(tmp_path / "x.duckdb"), backend="tensorrt")
    assert not (tmp_path / "x.duckdb").exists()


def test_without_the_onnx_package_the_hint_is_to_install_the_extra(wordpiece_model, conll_file, tmp_path, cache,
                                                                     monkeypatch):
    """onnxruntime is there but onnx, which torch.onnx's exporter imports, is not (None in
    sys.modules makes `import onnx` raise ModuleNotFoundError, as when it is not installed)."""
    import sys

    monkeypatch.setitem(sys.modules, "onnx", None)
    db = tmp_path / "x.duckdb"
    with pytest.raises(UsageError) as raised:
        ingest(wordpiece_model, str(conll_file), db=str(db), run="r", progress=False, backend="onnxruntime")
    assert "needs the onnx package" in raised.value.message and raised.value.hint == "pip install 'lossdb[onnx]'"
    assert not db.exists() and not list(cache.glob("onnx/*/*"))


def test_a_damaged_cached_export_is_exported_again(wordpiece_model, conll_file, tmp_path, cache):
    """A truncated file fails to parse ("Protobuf parsing failed"), an empty one has no graph:
    either is replaced by a new export and the ingest goes on."""
    ingest(wordpiece_model, str(conll_file), db=str(tmp_path / "a.duckdb"), run="r", progress=False,
           backend="onnxruntime", limit=5)
    (export,) = cache.glob("onnx/*/*.onnx")
    size = export.stat().st_size
    for damaged in (size // 2, 0):
        with open(export, "r+b") as f:
            f.truncate(damaged)
        db = tmp_path / f"damaged-{damaged}.duckdb"
        ingest(wordpiece_model, str(conll_file), db=str(db), run="r", progress=False, backend="onnxruntime", limit=5)
        assert token_rows(db, "r") == token_rows(tmp_path / "a.duckdb", "r")
        assert list(cache.glob("onnx/*/*")) == [export] and export.stat().st_size == size  # replaced whole
