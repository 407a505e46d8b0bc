"""lossdb.demo: the `lossdb demo` walk-through and the builders of tiny real models and
synthetic data that it, the tests and the benchmarks use.

It lives in the repository's demo/ folder, outside the lossdb/ package of the public API
(pyproject maps it to lossdb.demo, as ingest/ to lossdb.ingest). Importing it is cheap:
torch, transformers and tokenizers load inside the builders.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lossdb.errors import StoreError, UsageError
from lossdb.outfile import write_error
from lossdb.store import Store

from .builders import (LABELS, _entities, build_demo, build_model, build_tokenizer, make_sentences,  # noqa: F401
                       plant_label_errors, train, write_conll)

DEMO_RUN = "demo"


@dataclass
class Demo:
    """What `run_demo` built: the store, the run, the planted errors and where they rank."""

    db: str
    run: str
    planted: list[int]  # seq_ids of the sentences with planted label errors
    ranks: list[int]  # their ranks by total loss, best first (1 = the highest loss)
    summary: object  # the ingest's IngestSummary


def check_demo(out: str | Path, *, db: str | None = None) -> str:
    """Refuse, before anything is built or trained, what run_demo could not finish: `out` a file,
    a `db` that cannot take the run, or one whose run 'demo' is not this demo's (it would be
    replaced). Returns the store's path."""
    from lossdb.ingest.pipeline import check_store

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} is a file, and the demo writes a folder", "choose another folder", parameter="out")
    db_path = db or str(out / "demo.duckdb")
    if db is not None or out.is_dir():  # (the default store's folder is made by the build)
        check_store(db_path, DEMO_RUN, replace=True, label_versions="keep")
    if db is not None and Path(db_path).exists():
        with Store(db_path, frames=False) as store:
            earlier = [r for r in store.runs().records() if r["run_id"] == DEMO_RUN]
        data = str(out / "sample.conll")
        if earlier and earlier[0]["data_source"] != data:
            raise StoreError(f"{db_path} has a run {DEMO_RUN!r} that is not this demo's (it scored "
                             f"{earlier[0]['data_source']}, not {data}), and the demo would replace it",
                             "give the demo another store, or the folder it was built in",
                             cli_hint="give the demo another --db, or the --out it was built in")
    return db_path


def run_demo(out: str | Path, *, db: str | None = None, progress: bool = False) -> Demo:
    """Build the demo sample and tiny model in `out` (build_demo), ingest the sample as run
    'demo' into `db` (default: out/demo.duckdb; an earlier demo run there is replaced, its label
    versions kept) and rank the planted label errors."""
    from lossdb.ingest import ingest  # numpy and pyarrow load here; the builders load torch themselves

    out = Path(out)
    db_path = check_demo(out, db=db)
    try:
        built = build_demo(out)
    except OSError as e:  # a folder it may not create or write in, a full disk
        raise write_error(e, out) from e
    # Run again, it replaces its run; label versions imported meanwhile (the clean copy that
    # `issues --evaluate` measures against) are kept: the sample's sentences are the same each time.
    summary = ingest(str(built["model"]), str(built["data"]), db=db_path, run=DEMO_RUN, replace=True,
                     label_versions="keep", progress=progress)
    planted = sorted(built["planted"])
    with Store(db_path, frames=False) as store:
        ranks = store.ranks(planted, run=DEMO_RUN).column("rank")
    return Demo(db_path, DEMO_RUN, planted, ranks, summary)


__all__ = ["LABELS", "Demo", "build_demo", "check_demo", "build_model", "build_tokenizer", "make_sentences", "plant_label_errors",
           "run_demo", "train", "write_conll"]
