"""Checks on a --model argument that need neither torch nor transformers.

`pipeline.ingest` runs these before it imports the ML stack (seconds of start-up), so a
mistyped path, a folder that is not a model, or a tag the model does not know is reported
at once instead of after the model has loaded, or after part of the data has been scored.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

from lossdb.errors import InputError

# 'name' or 'owner/name', as the Hugging Face hub spells repository ids.
HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?")


# The files AutoModelForTokenClassification (PyTorch) loads weights from, sharded or not.
WEIGHTS = ("*.safetensors", "pytorch_model*.bin", "*.safetensors.index.json")


def check_model(spec: str) -> None:
    """Raise InputError if `spec` is neither a model folder nor a hub id that can be fetched."""
    path = Path(spec)
    looks_local = path.exists() or spec.startswith((".", "/", "~")) or spec.count("/") > 1
    if not path.exists():
        if looks_local or not HUB_ID.fullmatch(spec):
            raise InputError(f"model path {spec} does not exist", "pass a model folder or a Hugging Face hub id")
        check_hub(spec, "model")
        return
    if path.is_file():
        raise InputError(f"{spec} is a file, not a model folder", "pass the folder that holds config.json")
    config = path / "config.json"
    if not config.is_file():
        raise InputError(f"{spec} is not a model folder (no config.json)", "pass a folder saved with save_pretrained")
    try:
        json.loads(config.read_text("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise InputError(f"{config} is not valid JSON ({str(e).splitlines()[0]})",
                         "pass a folder saved with save_pretrained") from e
    if not any(any(path.glob(pattern)) for pattern in WEIGHTS):
        raise InputError(f"{spec} has a config.json but no weights ({', '.join(WEIGHTS)})",
                         "pass a folder saved with save_pretrained, weights included")


def label_names(spec: str) -> list[str] | None:
    """The model's labels in id order, read from a local folder's config.json; None when that
    cannot be done without transformers (a hub id, an unreadable config: the loader explains)."""
    config = Path(spec) / "config.json"
    try:
        id2label = json.loads(config.read_text("utf-8"))["id2label"]
        names = [id2label[str(i)] for i in range(len(id2label))]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not names or not all(isinstance(n, str) for n in names) or all(n.startswith("LABEL_") for n in names):
        return None
    return names


def check_hub(spec: str, repo_type: str) -> None:
    """A hub id (`repo_type` model or dataset) that is not cached: make sure the hub can be
    asked before transformers or datasets ask it.

    Without this, an unreachable hub costs half a minute or more of retries and a screen of
    warnings before they give up.
    """
    import huggingface_hub
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    if repo_type == "model":
        if huggingface_hub.try_to_load_from_cache(spec, "config.json") is not None:
            return  # cached: transformers loads it offline
    elif (Path(huggingface_hub.constants.HF_HUB_CACHE) / f"datasets--{spec.replace('/', '--')}").is_dir():
        return  # downloaded before: datasets reads its cache
    what = "model path" if repo_type == "model" else "dataset"
    fix = "pass a model folder" if repo_type == "model" else "pass a data file or a saved dataset folder"
    absent = f"{what} {spec} does not exist, and no {repo_type} of that name is in the Hugging Face cache"
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}:
        raise InputError(absent, f"{fix}, or download the {repo_type} first (HF_HUB_OFFLINE is set)")
    info = huggingface_hub.model_info if repo_type == "model" else huggingface_hub.dataset_info
    try:
        info(spec, timeout=10)
    except RepositoryNotFoundError as e:
        raise InputError(f"{what} {spec} does not exist, and the Hugging Face hub has no {repo_type} of that name",
                         f"{fix}, or a hub id such as owner/name") from e
    except HfHubHTTPError:
        return  # gated, rate-limited...: let transformers or datasets try, and explain
    except Exception as e:  # no network: httpx / requests connection errors
        raise InputError(f"{absent}, and the hub cannot be reached ({type(e).__name__})",
                         f"{fix}, or download the {repo_type} where there is network") from e
