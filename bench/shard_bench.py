"""Sharded ingest on one machine: N `ingest --shard i/N` processes side by side, then `merge`,
against one ingest of the same data in the same run.

    python bench/shard_bench.py --model ../shared/models/minilm-panx-de \
        --data ../shared/data/panx-de/validation.conllu [--limit 2000] [--shards 2]

baseline  one `lossdb ingest` process with every core's torch thread;
shards    N `lossdb ingest --shard i/N` processes at once, cores/N torch threads each;
merge     `lossdb merge` of the N shard files into one store.
Prints wall seconds, the ratios, and whether the merged store answers `top --n 10` as the
single ingest does. On one machine shards only split the same cores, so the ratio shows
what sharding costs (model loads, merge); across machines or GPUs each shard brings its own.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import common  # noqa: E402

LOSSDB = [sys.executable, "-m", "lossdb.cli.app"]


def started(args: list[str], threads: int) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    return subprocess.Popen(LOSSDB + args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finished(process: subprocess.Popen) -> None:
    out, err = process.communicate()
    if process.returncode:
        sys.exit(f"{' '.join(process.args[2:])} failed: {err.strip()}")


def top10(db: Path) -> list:
    out = subprocess.run(LOSSDB + ["top", "--n", "10", "--format", "json", "--db", str(db)],
                         capture_output=True, text=True, check=True).stdout
    return [(r["seq_id"], round(r["total_loss"], 3)) for r in json.loads(out)]


def main() -> None:
    parser = common.parser(__doc__, "model", "data")
    parser.add_argument("--limit", type=int, default=2000)
    parser.add_argument("--shards", type=int, default=2)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    ingest_args = ["--model", args.model, "--data", args.data, "--limit", str(args.limit), "--run", "bench", "-q"]

    with tempfile.TemporaryDirectory() as tmp:
        single = Path(tmp) / "single.duckdb"
        clock = time.perf_counter()
        finished(started(["ingest", *ingest_args, "--db", str(single)], cores))
        t_single = time.perf_counter() - clock

        shard_files = [Path(tmp) / f"shard{i}.duckdb" for i in range(args.shards)]
        clock = time.perf_counter()
        running = [started(["ingest", *ingest_args, "--shard", f"{i}/{args.shards}", "--db", str(path)],
                           max(1, cores // args.shards)) for i, path in enumerate(shard_files)]
        for process in running:
            finished(process)
        t_shards = time.perf_counter() - clock

        merged = Path(tmp) / "merged.duckdb"
        clock = time.perf_counter()
        finished(started(["merge", *map(str, shard_files), "--db", str(merged)], cores))
        t_merge = time.perf_counter() - clock
        same = top10(single) == top10(merged)

    print(f"{args.limit} sequences, {cores} cores, {args.shards} shards")
    print(f"single ingest          {t_single:7.1f} s wall  ({cores} torch threads)")
    print(f"{args.shards} shard ingests at once {t_shards:7.1f} s wall  ({max(1, cores // args.shards)} torch threads each)")
    print(f"merge                  {t_merge:7.1f} s wall")
    print(f"(shards + merge) / single  {(t_shards + t_merge) / t_single:.3f}   merge share {t_merge / (t_shards + t_merge):.3f}")
    print(f"merged top 10 equals the single ingest's: {same}")


if __name__ == "__main__":
    main()
