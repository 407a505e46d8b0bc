"""Loading a token-classification model and running it over windows in batches.

The only module that imports torch and transformers; ingest imports it lazily so
that the read-only commands start fast.
"""
from __future__ import annotations

import contextlib
import hashlib
import signal
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import transformers
from transformers import AutoModelForTokenClassification, AutoTokenizer

from lossdb.errors import InputError, UsageError, first_line

from .align import Window, require_word_alignment
from .model_files import check_model

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass
class LoadedModel:
    model: torch.nn.Module
    tokenizer: object
    label_names: list[str]  # id2label in id order
    revision: str | None
    max_length: int
    device: torch.device
    dtype: str
    backend: str = "torch"  # or "onnxruntime": the model exported to ONNX (ingest/onnx_backend.py)
    onnx: object | None = None  # onnx_backend.OnnxModel when backend == "onnxruntime"


def load(spec: str, *, device: str = "auto", dtype: str = "float32", backend: str = "torch") -> LoadedModel:
    """Model and tokenizer through the Auto classes, from a local folder or a hub id."""
    check_model(spec)
    if dtype not in DTYPES:
        raise UsageError(f"unknown dtype {dtype!r}", f"choose one of {', '.join(DTYPES)}", parameter="dtype")
    target = _device(device)
    transformers.utils.logging.disable_progress_bar()  # ingest shows its own
    try:
        tokenizer = AutoTokenizer.from_pretrained(spec)
        model = AutoModelForTokenClassification.from_pretrained(spec)
    except Exception as e:  # transformers raises OSError, ValueError, KeyError... for bad folders and ids
        first = first_line(e).rstrip(".")
        raise InputError(f"cannot load a token-classification model from {spec}: {first}",
                         "pass a folder saved with save_pretrained, or a hub id that is cached locally") from e
    label_names = _label_names(model, tokenizer, f"model {spec}", "save the model with config.id2label set to the tag names")
    _first_call(tokenizer)
    model.eval()
    if backend == "onnxruntime":  # exported from the CPU copy; ONNX Runtime places it on the device
        from . import onnx_backend

        loaded = LoadedModel(model, tokenizer, label_names, _revision(spec, model), _max_length(tokenizer, model),
                             target, dtype, backend)
        loaded.onnx = onnx_backend.load(loaded)
        return loaded
    if target.type != "cpu" and dtype != "float32":
        model.to(DTYPES[dtype])  # on GPUs run natively in half precision; on CPU, autocast below
    model.to(target)
    return LoadedModel(model, tokenizer, label_names, _revision(spec, model), _max_length(tokenizer, model), target, dtype)


@contextlib.contextmanager
def _interrupts_deferred():
    """Ctrl-C (or SIGTERM) that arrives inside is delivered as it leaves, to the handler that was
    there: for native code that calls back into Python, where a KeyboardInterrupt raised in the
    callback makes a Rust extension panic and print its backtrace."""
    if threading.current_thread() is not threading.main_thread():  # (only the main thread gets them)
        yield
        return
    pending: list[tuple[int, object]] = []
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for s, handler in saved.items():
        if callable(handler):
            signal.signal(s, lambda number, frame: pending.append((number, frame)))
    try:
        yield
    finally:
        for s, handler in saved.items():
            if callable(handler):
                signal.signal(s, handler)
        for number, frame in pending[:1]:
            saved[number](number, frame)


def _first_call(tokenizer) -> None:
    """Call the tokenizer once now, with interrupts deferred. A fast tokenizer's first call
    imports NumPy's C API from Rust (it checks whether its input is a NumPy array); a Ctrl-C
    landing inside that import made tokenizers panic and print a Rust backtrace before lossdb's
    one-line 'interrupted' (seen when SIGTERM arrived as scoring started)."""
    with _interrupts_deferred():
        tokenizer([["x"]], is_split_into_words=True)


def from_model(model: torch.nn.Module, tokenizer, *, revision: str | None = None) -> LoadedModel:
    """A model already in memory (e.g. the one a Trainer is training), on its own device and
    in its own dtype, for `forward`. The caller switches it to eval mode and back."""
    label_names = _label_names(model, tokenizer, "the model",
                               "set config.id2label (and label2id) to the tag names before training")
    parameter = next(model.parameters())
    dtype = next((name for name, value in DTYPES.items() if value == parameter.dtype), "float32")
    return LoadedModel(model, tokenizer, label_names, revision, _max_length(tokenizer, model), parameter.device, dtype)


def _label_names(model, tokenizer, what: str, fix: str) -> list[str]:
    """The model's tag names in id order, once the tokenizer is known to align words; `what`
    names the model in the error when it has only transformers' LABEL_i placeholders."""
    require_word_alignment(tokenizer)
    # lossdb windows (or truncates) long sequences itself: transformers' warning that a sequence
    # is longer than the model's maximum, "will result in indexing errors", does not apply.
    if isinstance(getattr(tokenizer, "deprecation_warnings", None), dict):
        tokenizer.deprecation_warnings["sequence-length-is-longer-than-the-specified-maximum"] = True
    id2label = model.config.id2label
    label_names = [id2label[i] for i in range(len(id2label))]
    if all(name.startswith("LABEL_") for name in label_names):
        raise InputError(f"{what} has no label names (id2label is {label_names[:3]}...)", fix)
    return label_names


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as e:
        raise UsageError(f"unknown device {name!r}", "use auto, cpu, cuda or cuda:N", parameter="device") from e
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UsageError("device cuda was asked for but no CUDA GPU is available", "use cpu", parameter="device")
    return device


def _max_length(tokenizer, model) -> int:
    limit = getattr(model.config, "max_position_embeddings", None) or 512
    if getattr(model.config, "model_type", "") in {"roberta", "xlm-roberta", "camembert"}:
        limit -= 2  # position ids start after the padding index
    from_tokenizer = getattr(tokenizer, "model_max_length", None)
    if from_tokenizer and from_tokenizer < 1_000_000:
        limit = min(limit, from_tokenizer)
    return int(limit)


def _revision(spec: str, model) -> str | None:
    """The hub commit, or for a local folder a content hash of its config and weights."""
    commit = getattr(model.config, "_commit_hash", None)
    path = Path(spec)
    if not path.is_dir():
        return commit
    digest = hashlib.sha256()
    for file in sorted(path.iterdir()):
        if file.suffix in {".json", ".safetensors", ".bin"} and file.is_file():
            digest.update(file.name.encode())
            with file.open("rb") as f:
                while block := f.read(1 << 20):
                    digest.update(block)
    return "sha256:" + digest.hexdigest()[:16]


def forward(loaded: LoadedModel, windows: list[Window]) -> list[np.ndarray]:
    """Log-probabilities (float32, [len, labels]) for a batch of windows."""
    pad_id = loaded.tokenizer.pad_token_id or 0
    longest = max(len(w.input_ids) for w in windows)
    ids = np.full((len(windows), longest), pad_id, dtype=np.int64)
    mask = np.zeros((len(windows), longest), dtype=np.int64)
    for row, window in enumerate(windows):
        ids[row, : len(window.input_ids)] = window.input_ids
        mask[row, : len(window.input_ids)] = 1
    if loaded.onnx is not None:
        log_probs = loaded.onnx.log_probs(ids, mask)
        return [log_probs[row, : len(w.input_ids)] for row, w in enumerate(windows)]
    input_ids = torch.from_numpy(ids).to(loaded.device)
    attention_mask = torch.from_numpy(mask).to(loaded.device)
    with torch.inference_mode(), _autocast(loaded):
        logits = loaded.model(input_ids=input_ids, attention_mask=attention_mask).logits
        log_probs = torch.log_softmax(logits.float(), dim=-1).cpu().numpy()
    return [log_probs[row, : len(w.input_ids)] for row, w in enumerate(windows)]


def _autocast(loaded: LoadedModel):
    if loaded.device.type == "cpu" and loaded.dtype != "float32":
        return torch.autocast("cpu", dtype=DTYPES[loaded.dtype])
    return contextlib.nullcontext()


def versions() -> dict[str, str]:
    return {"torch": torch.__version__, "transformers": transformers.__version__}
