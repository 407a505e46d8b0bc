"""The quick benchmarks, in one go (`make bench`): a few minutes on a laptop's CPU.

    .venv/bin/python bench/run_all.py [--limit 1000]

1. ingest_stages.py: where one ingest of the first --limit PAN-X sentences spends its time,
   against the model's own forward calls (the baseline, measured in the same run);
2. query_bench.py: cold-process times of the read-only commands on the store that ingest
   wrote, against a bare `import duckdb; connect` (the baseline, measured in the same run).

Both need the real model and data in ../shared (minilm-panx-de, panx-de/validation.conllu).
The long ones (ingest_bench.py against the book's pipeline, memory_bench.py, shard_bench.py,
make_big_store.py for a million sequences, bad_inputs.py) are run by hand; BENCHMARKS.md
gives their commands. Exit status: the number of benchmarks that failed.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1] / "shared"
MODEL = SHARED / "models" / "minilm-panx-de"
DATA = SHARED / "data" / "panx-de" / "validation.conllu"


def run(title: str, argv: list[str]) -> bool:
    print(f"\n== {title}\n$ {' '.join(argv)}", flush=True)
    return subprocess.run(argv).returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=1000, help="PAN-X sentences to ingest")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each query command")
    args = parser.parse_args()
    if not (MODEL.exists() and DATA.exists()):
        print(f"bench: {SHARED} (the PAN-X model and data) is not present; nothing to measure", file=sys.stderr)
        return 1
    python = sys.executable
    failed = 0
    failed += not run("ingest stages", [python, str(HERE / "ingest_stages.py"), "--model", str(MODEL),
                                        "--data", str(DATA), "--limit", str(args.limit)])
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "bench.duckdb")
        ingested = subprocess.run([python, "-m", "lossdb", "ingest", "--model", str(MODEL), "--data", str(DATA),
                                   "--limit", str(args.limit), "--run", "bench", "--db", db, "--quiet"])
        if ingested.returncode != 0:
            print("bench: the ingest for the query benchmark failed", file=sys.stderr)
            return failed + 1
        failed += not run("read-only commands", [python, str(HERE / "query_bench.py"), "--db", db,
                                                 "--repeat", str(args.repeat)])
    return failed


if __name__ == "__main__":
    sys.exit(main())
