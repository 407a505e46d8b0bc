"""Peak memory of ingest: does it stream? Peak RSS for N and 10N sequences.

    python bench/memory_bench.py --data ../shared/data/panx-de/validation.conllu [--small 10000] [--factor 10]

The data file is repeated to reach 10N sequences (written to a temp folder). Both ingests
use the same tiny model (built on the spot with lossdb.demo) so that the figure measures
lossdb's own buffers, not the model's size; each runs in a fresh process and reports its
peak RSS (ru_maxrss). Ingest streams if the ratio stays near 1.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from lossdb import demo
from lossdb.ingest import open_source

CHILD = """
import resource, sys, time
from lossdb.ingest import ingest
started = time.perf_counter()
s = ingest(sys.argv[1], sys.argv[2], db=sys.argv[3], run="mem", progress=False)
print(s.n_sequences, s.n_tokens, time.perf_counter() - started,
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def write_repeated(source: str, out: Path, n: int) -> int:
    examples = list(open_source(source))
    written = 0
    with out.open("w", encoding="utf-8") as f:
        while written < n:
            for example in examples[: n - written]:
                f.write("\n".join(f"{w}\t{t}" for w, t in zip(example.words, example.tags)) + "\n\n")
                written += 1
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--factor", type=int, default=10)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        corpus = [e.words for e in open_source(args.data)][:2000]
        tokenizer = demo.build_tokenizer("wordpiece", corpus, tmp / "tok", vocab_size=2000)
        model = demo.build_model(tokenizer, tmp / "model", hidden_size=32, layers=1)
        print(f"{'sequences':>10} {'tokens':>11} {'seconds':>8} {'peak RSS MB':>12}")
        peaks = []
        for n in (args.small, args.small * args.factor):
            data = tmp / f"data-{n}.conll"
            write_repeated(args.data, data, n)
            result = subprocess.run([sys.executable, "-c", CHILD, str(model), str(data), str(tmp / f"{n}.duckdb")],
                                    capture_output=True, text=True, check=True)
            n_seq, n_tok, seconds, peak_kb = result.stdout.split()
            peaks.append(int(peak_kb) / 1024)
            print(f"{int(n_seq):>10,} {int(n_tok):>11,} {float(seconds):>8.1f} {peaks[-1]:>12.0f}")
        print(f"peak RSS ratio {args.small * args.factor:,} / {args.small:,} sequences: {peaks[1] / peaks[0]:.3f}")


if __name__ == "__main__":
    main()
