"""Where one lossdb ingest spends its wall time, stage by stage, in one process.

    python bench/ingest_stages.py --model ../shared/models/minilm-panx-de \
        --data ../shared/data/panx-de/validation.conllu [--limit K]

The model's forward calls inside the ingest are the baseline: everything else (checking
the data, tokenizing and aligning, staging, the commit, the rest) is what lossdb adds, and
its share of the forward time is the figure the "within 10 % of the bare forward loop"
goal is about, measured without the drift between two separate runs on a shared machine.
"""
from __future__ import annotations

import argparse
import collections
import tempfile
import time
from pathlib import Path

from lossdb.ingest import align, pipeline, scoring, writer

spent: collections.Counter = collections.Counter()


def timed(owner, name: str, label: str) -> None:
    function = getattr(owner, name)

    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[label] += time.perf_counter() - started

    setattr(owner, name, wrapper)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--limit", type=int)
    args = parser.parse_args()
    for owner, name, label in [(scoring, "forward", "model forward"), (pipeline, "_check_data", "check data"),
                               (align, "encode", "tokenize + align"), (writer.StagedRun, "add", "stage (Parquet)"),
                               (writer, "commit", "commit (DuckDB)")]:
        timed(owner, name, label)
    scoring.load(args.model, device="cpu")  # warm-up: transformers imports its model classes lazily
    spent.clear()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        pipeline.ingest(args.model, args.data, db=str(Path(tmp) / "stages.duckdb"), run="stages",
                        limit=args.limit, progress=False)
        total = time.perf_counter() - started
    spent["other (model load, reading, ...)"] = total - sum(spent.values())
    forward = spent["model forward"]
    print(f"{'stage':<34} {'s':>7} {'/ forward':>10}")
    for label, seconds in spent.most_common():
        print(f"{label:<34} {seconds:7.2f} {seconds / forward:10.3f}")
    print(f"{'total':<34} {total:7.2f} {total / forward:10.3f}   (lossdb's own work: {total - forward:.1f} s)")


if __name__ == "__main__":
    main()
