"""The ONNX Runtime backend: the model exported to ONNX once per revision, run by onnxruntime.

`lossdb ingest --backend onnxruntime` scores with this instead of torch's eager forward: on a
CPU, ONNX Runtime runs the same graph in less time (BENCHMARKS.md), with the same argmax and
losses within 1e-4. The export is the graph of ``log_softmax(model(input_ids,
attention_mask).logits)``, so the session returns exactly what scoring.forward returns for the
torch backend. It is cached under ``$LOSSDB_CACHE/onnx/<revision>/`` (default
``~/.cache/lossdb``) and reused by the next ingest of the same model revision.

Only ingest imports this module (lazily), so nothing else loads onnxruntime.
"""
from __future__ import annotations

import os
import re
import tempfile
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnxruntime.capi import onnxruntime_pybind11_state as ort_errors
import torch

from lossdb.errors import InputError, UsageError, first_line

OPSET = 17
# Largest |log-prob difference| between the export and torch on the check batch; ONNX Runtime's
# kernels differ from torch's by ~1e-6, a wrong graph (a traced-in shape, say) by far more.
EXPORT_TOLERANCE = 1e-4
# What ONNX Runtime raises for a model file that does not parse (a truncated or damaged cached
# export): "Protobuf parsing failed", "No graph was found in the protobuf" (an empty file).
_DAMAGED = (ort_errors.InvalidProtobuf, ort_errors.InvalidArgument, ort_errors.InvalidGraph)


class _LogProbs(torch.nn.Module):
    """What is exported: the model's log-probabilities, as scoring.forward computes them."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        logits = self.model(input_ids=input_ids, attention_mask=attention_mask).logits
        return torch.log_softmax(logits.float(), dim=-1)


class OnnxModel:
    """An ONNX Runtime session over an exported model: padded ids and mask in, log-probs out."""

    def __init__(self, path: Path, device: torch.device) -> None:
        options = ort.SessionOptions()
        # As many threads as torch uses, so that the two backends compare on equal terms.
        options.intra_op_num_threads = torch.get_num_threads()
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.providers = _providers(device)
        self.session = ort.InferenceSession(str(path), options, providers=self.providers)
        self.path = path

    def log_probs(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        return self.session.run(["log_probs"], {"input_ids": input_ids, "attention_mask": attention_mask})[0]


def load(loaded) -> OnnxModel:
    """The session for a scoring.LoadedModel (its torch model on the CPU), exporting it first
    unless this revision's export is already in the cache."""
    if loaded.dtype != "float32":
        raise UsageError(f"--backend onnxruntime runs float32 only, not --dtype {loaded.dtype}",
                         "leave out --dtype, or use --backend torch")
    if loaded.revision is None:  # nothing to key a cache on: export for this ingest only
        with tempfile.TemporaryDirectory(prefix="lossdb-onnx-") as tmp:
            path = Path(tmp) / _file_name()
            _export(loaded, path)
            return OnnxModel(path, loaded.device)  # the session holds the graph; the file may go
    path = cache_folder(loaded.revision) / _file_name()
    if path.is_file():
        try:
            return OnnxModel(path, loaded.device)
        except _DAMAGED:  # the cache is lossdb's own: a file that does not load is exported again
            pass
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    try:
        _export(loaded, partial)
        os.replace(partial, path)  # atomic: a concurrent ingest sees the whole file or none
    finally:
        partial.unlink(missing_ok=True)
    return OnnxModel(path, loaded.device)


def cache_folder(revision: str) -> Path:
    """Where the export of one model revision is kept."""
    root = Path(os.environ.get("LOSSDB_CACHE") or Path.home() / ".cache" / "lossdb")
    return root / "onnx" / re.sub(r"[^\w.-]", "-", revision)


def version() -> str:
    return ort.__version__


def _file_name() -> str:
    # The exporter's output depends on torch and the opset, so both are part of the name.
    return f"model-opset{OPSET}-torch{torch.__version__.split('+')[0]}.onnx"


def _export(loaded, path: Path) -> None:
    """torch.onnx's TorchScript exporter (dynamo=False: needs no onnxscript), with dynamic batch and
    length axes; then one check batch through both, so a graph that does not reproduce the model
    is refused here instead of scoring a dataset wrongly."""
    model_type = getattr(loaded.model.config, "model_type", type(loaded.model).__name__)
    wrapper = _LogProbs(loaded.model).eval()
    ids, mask = _check_batch(loaded)
    axes = {"input_ids": {0: "batch", 1: "length"}, "attention_mask": {0: "batch", 1: "length"},
            "log_probs": {0: "batch", 1: "length"}}
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the tracer's warnings about Python control flow
            torch.onnx.export(wrapper, (torch.from_numpy(ids), torch.from_numpy(mask)), str(path),
                              input_names=["input_ids", "attention_mask"], output_names=["log_probs"],
                              dynamic_axes=axes, opset_version=OPSET, dynamo=False,
                              training=torch.onnx.TrainingMode.EVAL)
    except Exception as e:  # the exporter raises many types: unsupported operators, tracing errors
        if _missing_module(e) == "onnx":  # torch.onnx wraps the ImportError in its OnnxExporterError
            raise UsageError("--backend onnxruntime needs the onnx package to export the model, which is not installed",
                             "pip install 'lossdb[onnx]'") from None
        raise InputError(f"cannot export the {model_type} model to ONNX: {first_line(e)}",
                         "use --backend torch (the default) for this model") from None
    finally:
        loaded.model.eval()  # torch 2.13's exporter leaves the model in training mode
    ids, mask = _check_batch(loaded, rows=3, length=11)  # another shape than the traced one
    with torch.inference_mode():
        expected = wrapper(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
    got = OnnxModel(path, torch.device("cpu")).log_probs(ids, mask)
    error = float(np.abs(got - expected)[mask.astype(bool)].max())
    if not error <= EXPORT_TOLERANCE:
        raise InputError(f"the ONNX export of the {model_type} model does not reproduce it "
                         f"(log-probs differ by {error:.2g})", "use --backend torch (the default) for this model")


def _missing_module(error: BaseException | None) -> str | None:
    """The top-level name of the module whose absence caused `error`, if one did."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, ModuleNotFoundError) and error.name:
            return error.name.split(".")[0]
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def _check_batch(loaded, rows: int = 2, length: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Token ids from the model's own vocabulary, the last row padded."""
    tokenizer = loaded.tokenizer
    vocab = sorted(set(range(len(tokenizer))) - set(tokenizer.all_special_ids))[:50] or [0]
    rng = np.random.default_rng(0)
    ids = rng.choice(vocab, size=(rows, length)).astype(np.int64)
    mask = np.ones((rows, length), dtype=np.int64)
    ids[-1, length - 2 :] = tokenizer.pad_token_id or 0
    mask[-1, length - 2 :] = 0
    return ids, mask


def _providers(device: torch.device) -> list:
    if device.type != "cuda":
        return ["CPUExecutionProvider"]
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        raise UsageError("--device cuda with --backend onnxruntime needs ONNX Runtime's CUDA provider, "
                         "which this onnxruntime lacks", "pip install onnxruntime-gpu, or use --device cpu")
    return [("CUDAExecutionProvider", {"device_id": device.index or 0}), "CPUExecutionProvider"]
