"""lossdb ingest against the book's pipeline and the bare forward pass, in one process.

    python bench/ingest_bench.py --model ../shared/models/minilm-panx-de \
        --data ../shared/data/panx-de/validation.conllu [--limit K] [--threads T] [--dtype bfloat16] \
        [--rounds 3] [--skip-book]

Three measurements, same model, same data, same threads, imports done beforehand:
  book     the book's pipeline end to end (bench/book_pipeline.py: Dataset.map, batch 32,
           per-batch padding, no length sorting, pandas) - what users do today;
  lossdb   `lossdb.ingest.ingest()` end to end (model load, read, tokenize, align, score,
           stage, commit into a new DuckDB file);
  forward  a bare loop of the model's forward pass over exactly the batches lossdb fed it
           (recorded during the lossdb run): the limit for this model on this machine.
Wall seconds and process CPU seconds (all threads; steadier on a shared machine) for each,
and the ratios the goals are stated in.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
import book_pipeline  # noqa: E402
import common  # noqa: E402
import forward_limit  # noqa: E402

import lossdb  # noqa: E402
from lossdb.ingest import ingest, scoring  # noqa: E402


def clock():
    return time.perf_counter(), time.process_time()


def since(start):
    return time.perf_counter() - start[0], time.process_time() - start[1]


def run_lossdb(model: str, data: str, limit, dtype: str, record: list | None):
    with common.recording_forward(record), tempfile.TemporaryDirectory() as tmp:
        start = clock()
        summary = ingest(model, data, db=str(Path(tmp) / "bench.duckdb"), run="bench", limit=limit,
                         dtype=dtype, device="cpu", progress=False)
        elapsed = since(start)
        with lossdb.connect(Path(tmp) / "bench.duckdb") as store:
            summary.top = store.top(10)[["seq_id", "total_loss"]].values.tolist()
        return elapsed, summary


def main() -> None:
    parser = common.parser(__doc__, "model", "data")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--dtype", default="float32", help="also time lossdb with this dtype when not float32")
    parser.add_argument("--skip-book", action="store_true")
    parser.add_argument("--rounds", type=int, default=1, help="alternate lossdb and the bare loop this many times")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch threads: {torch.get_num_threads()}, data: {args.data}, limit: {args.limit}")

    scoring.load(args.model, device="cpu")  # warm-up: lazy transformers modules load here, for all three
    batches: list = []
    (lossdb_wall, lossdb_cpu), summary = run_lossdb(args.model, args.data, args.limit, "float32", batches)
    print(f"lossdb   {lossdb_wall:8.1f} s wall {lossdb_cpu:8.1f} s cpu   ({summary.n_sequences:,} sequences, "
          f"{summary.n_tokens:,} tokens, {len(batches)} batches)")

    loaded = scoring.load(args.model, device="cpu")
    model, pad = loaded.model, loaded.tokenizer.pad_token_id or 0
    tensors = common.replayed_batches(batches, pad)

    def forward_once() -> tuple[float, float]:
        c = time.process_time()
        wall = forward_limit.time_forward(model, tensors)
        return wall, time.process_time() - c

    forward_wall, forward_cpu = forward_once()
    print(f"forward  {forward_wall:8.1f} s wall {forward_cpu:8.1f} s cpu   (padding {forward_limit.padding_fraction(tensors):.1%})")
    # More rounds alternate lossdb and the bare loop, so that a machine that speeds up or slows
    # down during the bench weighs on both alike; the ratio is then of the medians.
    lossdb_runs, forward_runs = [(lossdb_wall, lossdb_cpu)], [(forward_wall, forward_cpu)]
    for round_ in range(2, args.rounds + 1):
        lossdb_runs.append(run_lossdb(args.model, args.data, args.limit, "float32", None)[0])
        forward_runs.append(forward_once())
        print(f"round {round_}: lossdb {lossdb_runs[-1][0]:.1f} s wall, forward {forward_runs[-1][0]:.1f} s wall")
    if args.rounds > 1:
        lossdb_wall, lossdb_cpu = (statistics.median(r[i] for r in lossdb_runs) for i in (0, 1))
        forward_wall, forward_cpu = (statistics.median(r[i] for r in forward_runs) for i in (0, 1))
        print(f"medians of {args.rounds} rounds: lossdb {lossdb_wall:.1f} s wall {lossdb_cpu:.1f} s cpu, "
              f"forward {forward_wall:.1f} s wall {forward_cpu:.1f} s cpu")

    if not args.skip_book:
        result = book_pipeline.run_book_pipeline(args.model, args.data, n=3, limit=args.limit)
        book_wall, book_cpu = result["timings"]["total"], result["cpu"]["total"]
        print(f"book     {book_wall:8.1f} s wall {book_cpu:8.1f} s cpu   "
              f"(stages: {', '.join(f'{k} {v:.1f}' for k, v in result['timings'].items() if k != 'total')})")
        book_top = [(r["seq_index"], r["total_loss"]) for r in result["top"]]
        same = [int(a[0]) for a in summary.top[:3]] == [b[0] for b in book_top[:3]] and all(
            abs(a[1] - b[1]) < 1e-3 for a, b in zip(summary.top[:3], book_top[:3]))
        print(f"top 3 by total_loss, lossdb vs book: {'identical' if same else 'DIFFERENT'} "
              f"(lossdb {[(int(s), round(t, 3)) for s, t in summary.top[:3]]}, book {[(s, round(t, 3)) for s, t in book_top[:3]]})")
        print(f"lossdb / book     {lossdb_wall / book_wall:6.3f} wall {lossdb_cpu / book_cpu:6.3f} cpu   (goal <= 0.67)")
    print(f"lossdb / forward  {lossdb_wall / forward_wall:6.3f} wall {lossdb_cpu / forward_cpu:6.3f} cpu   (goal <= 1.10)")

    if args.dtype != "float32":
        (wall, cpu), _ = run_lossdb(args.model, args.data, args.limit, args.dtype, None)
        print(f"lossdb {args.dtype} {wall:8.1f} s wall {cpu:8.1f} s cpu   ({lossdb_wall / wall:.2f}x faster than float32)")


if __name__ == "__main__":
    main()
