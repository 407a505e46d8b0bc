"""The vectorised entity decoder (lossdb.queries.entities.decode_codes) in every mode and scheme.

    python bench/decode_bench.py [--rows 3000000] [--repeat 5]

One side's tag codes for --rows word rows (sentences of 1-11 words, tags drawn uniformly
from the scheme's tags over three types, so well- and ill-formed runs alike), decoded in
default mode and in strict mode for each scheme. The figure is the best of --repeat; the
baseline in the same run is default mode on IOB2 tags, what `lossdb entities` runs.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from lossdb.queries import entities, tags


def scheme_tags(scheme: str) -> list[str]:
    return ["O", *(f"{p}-{t}" for p in tags.Scheme.named(scheme).allowed if p != "O" for t in ("PER", "ORG", "LOC"))]


def word_rows(n: int, n_names: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 12, n // 6 + 1)
    seq_id = np.repeat(np.arange(len(lengths), dtype=np.int32), lengths)[:n]
    starts = np.r_[0, np.cumsum(lengths)[:-1]]
    word_index = (np.arange(n) - np.repeat(starts, lengths)[:n]).astype(np.int32)
    return seq_id, word_index, rng.integers(1, n_names + 1, n).astype(np.int32)


def best_of(repeat: int, run) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    cases = [("default", "IOB2")] + [("strict", s) for s in tags.SCHEMES]
    baseline = None
    print(f"{'mode':8s} {'scheme':6s} {'best s':>7s} {'x default':>9s} {'entities':>9s}")
    for mode, scheme in cases:
        names = scheme_tags(scheme)
        seq_id, word_index, codes = word_rows(args.rows, len(names), seed=0)
        table = entities.TagTables.of(names, scheme)
        adjacent = entities.adjacency(seq_id, word_index)
        found = len(entities.decode_codes(seq_id, word_index, codes, table, mode, adjacent))
        seconds = best_of(args.repeat, lambda: entities.decode_codes(seq_id, word_index, codes, table, mode, adjacent))
        baseline = baseline or seconds
        print(f"{mode:8s} {scheme:6s} {seconds:7.3f} {seconds / baseline:9.2f} {found:9,d}")


if __name__ == "__main__":
    main()
