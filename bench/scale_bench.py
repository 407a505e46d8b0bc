"""The Ray engine and the ONNX Runtime backend against a plain ingest and the bare forward pass.

    python bench/scale_bench.py --model ../shared/models/minilm-panx-de \
        --data ../shared/data/panx-de/validation.conllu --limit 2000 --rounds 3

Each round runs, one after the other on the same data (so that a shared machine's drift
weighs on all alike; the ratios are of the medians over the rounds):
  plain     `ingest()` as `lossdb ingest` runs it: one process, torch float32, 2 threads;
  ray       `ingest(engine="ray")` on a local Ray cluster started before the rounds
            (`ray.init(num_cpus=2)`, as `ray start --head` leaves one running): 2 workers x
            1 thread, each loading the model; the time includes starting the workers;
  onnx      `ingest(backend="onnxruntime")`, the export already cached (made before the rounds);
  forward   the bare torch forward over exactly the batches the plain ingest fed the model;
  ort       the bare ONNX Runtime session over the same batches.
Then the checks: Ray's rows equal the plain ingest's (preds, max loss difference); ONNX's
top 100 sequences by total loss are the plain ingest's, in the same order.
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import torch

sys.path.insert(0, str(Path(__file__).parent))
import common  # noqa: E402
import forward_limit  # noqa: E402

from lossdb.ingest import ingest, onnx_backend, scoring  # noqa: E402

TOKENS = "SELECT seq_id, position, pred, loss FROM tokens ORDER BY seq_id, position"
TOP = "SELECT seq_id, total_loss FROM top_sequences(100)"


def timed_ingest(model, data, db, limit, record=None, **options) -> float:
    with common.recording_forward(record):
        start = time.perf_counter()
        ingest(model, data, db=db, run="bench", limit=limit, device="cpu", progress=False, **options)
        return time.perf_counter() - start


def rows(db, query):
    con = duckdb.connect(db, read_only=True)
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


def main() -> None:
    parser = common.parser(__doc__, "model", "data")
    parser.add_argument("--limit", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-ray", action="store_true")
    parser.add_argument("--skip-onnx", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    tmp = tempfile.mkdtemp(prefix="scale-bench-")
    os.environ.setdefault("LOSSDB_CACHE", str(Path(tmp) / "cache"))
    print(f"torch threads: {torch.get_num_threads()}, data: {args.data}, limit: {args.limit}, rounds: {args.rounds}")

    loaded = scoring.load(args.model, device="cpu")  # warm-up: transformers' lazy modules load here
    if not args.skip_onnx:
        start = time.perf_counter()
        session = onnx_backend.load(loaded)  # the export, cached for the ingests below
        print(f"onnx export (once per model revision): {time.perf_counter() - start:.1f} s -> {session.path}")
    if not args.skip_ray:
        import ray

        start = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        print(f"ray.init(num_cpus=2), once: {time.perf_counter() - start:.1f} s")

    batches: list = []
    times: dict[str, list[float]] = {k: [] for k in ("plain", "ray", "onnx", "forward", "ort")}
    tensors = None
    for round_ in range(1, args.rounds + 1):
        db = {k: str(Path(tmp) / f"{k}-{round_}.duckdb") for k in ("plain", "ray", "onnx")}
        times["plain"].append(timed_ingest(args.model, args.data, db["plain"], args.limit,
                                           batches if round_ == 1 else None))
        if tensors is None:
            tensors = common.replayed_batches(batches, loaded.tokenizer.pad_token_id or 0)
        if not args.skip_ray:
            times["ray"].append(timed_ingest(args.model, args.data, db["ray"], args.limit, engine="ray", workers=2))
        if not args.skip_onnx:
            times["onnx"].append(timed_ingest(args.model, args.data, db["onnx"], args.limit, backend="onnxruntime"))
        times["forward"].append(forward_limit.time_forward(loaded.model, tensors))
        if not args.skip_onnx:
            start = time.perf_counter()
            for ids, mask in tensors:
                session.log_probs(ids.numpy(), mask.numpy())
            times["ort"].append(time.perf_counter() - start)
        print(f"round {round_}: " + ", ".join(f"{k} {v[-1]:.1f} s" for k, v in times.items() if v), flush=True)

    median = {k: statistics.median(v) for k, v in times.items() if v}
    print(f"medians of {args.rounds} rounds: " + ", ".join(f"{k} {v:.2f} s" for k, v in median.items()))
    print(f"plain / forward   {median['plain'] / median['forward']:6.3f}")
    plain_rows = rows(db["plain"], TOKENS)
    if not args.skip_ray:
        ray_rows = rows(db["ray"], TOKENS)
        same = [r[:3] for r in plain_rows] == [r[:3] for r in ray_rows]
        diff = max(abs(a[3] - b[3]) for a, b in zip(plain_rows, ray_rows))
        print(f"ray / plain       {median['ray'] / median['plain']:6.3f}   (goal <= 1.25)   "
              f"ray / forward {median['ray'] / median['forward']:6.3f}")
        print(f"ray rows vs plain: {len(ray_rows):,} tokens, preds {'identical' if same else 'DIFFERENT'}, "
              f"max |loss difference| {diff:.2g}")
    if not args.skip_onnx:
        onnx_rows = rows(db["onnx"], TOKENS)
        same = [r[:3] for r in plain_rows] == [r[:3] for r in onnx_rows]
        diff = max(abs(a[3] - b[3]) for a, b in zip(plain_rows, onnx_rows))
        top_plain, top_onnx = rows(db["plain"], TOP), rows(db["onnx"], TOP)
        same_top = [s for s, _ in top_plain] == [s for s, _ in top_onnx]
        print(f"onnx / plain      {median['onnx'] / median['plain']:6.3f}   (goal <= 0.85)   "
              f"bare ort / bare forward {median['ort'] / median['forward']:6.3f}")
        print(f"onnx rows vs plain: preds {'identical' if same else 'DIFFERENT'}, max |loss difference| {diff:.2g}, "
              f"top 100 by total loss {'identical' if same_top else 'DIFFERENT'} "
              f"(max total-loss difference {max(abs(a[1] - b[1]) for a, b in zip(top_plain, top_onnx)):.2g})")
        print(f"padding {forward_limit.padding_fraction(tensors):.1%} over {len(tensors)} batches; "
              f"ort providers {session.providers}")


if __name__ == "__main__":
    main()
