"""Make a large store for query benchmarks by replicating a real run.

    python bench/make_big_store.py --source panx.duckdb --run panx --copies 100 --out big.duckdb

100 copies of the PAN-X validation run (10,000 sequences, ~250k token rows) give
1,000,000 sequences and ~25M token rows with real tokens, labels and probabilities.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from lossdb.queries import db as store_db

from common import bench_sql as sql


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", required=True)
    parser.add_argument("--run", required=True)
    parser.add_argument("--copies", type=int, default=100)
    parser.add_argument("--out", required=True)
    parser.add_argument("--target-run", default="big")
    parser.add_argument("--refresh-label-quality", action="store_true",
                        help="recompute the default label-issue score over the whole big run, as ingest's commit "
                             "would (otherwise each copy keeps the source's), and print its time")
    args = parser.parse_args()

    started = time.perf_counter()
    Path(args.out).unlink(missing_ok=True)
    con = store_db.connect(args.out, read_only=False, migrate=True, create=True)
    con.execute("ATTACH $path AS src (READ_ONLY)", {"path": args.source})
    stride = con.execute("SELECT max(seq_id) + 1 FROM src.sequences WHERE run_id = $run", {"run": args.run}).fetchone()[0]
    params = {"run": args.run, "target": args.target_run, "stride": stride}
    with store_db.transaction(con):
        for copy in range(args.copies):
            con.execute(sql("replicate_tokens"), {**params, "copy": copy})
            con.execute(sql("replicate_sequences"), {**params, "copy": copy})
        con.execute(sql("replicate_run"), {"run": args.run, "target": args.target_run, "copies": args.copies})
    if args.refresh_label_quality:
        refreshing = time.perf_counter()
        with store_db.transaction(con):
            store_db.score_run(con, args.target_run)  # what ingest's commit does once the run is in
        print(f"score_run (posterior_softmin, then rank_mean as label_quality) over the big run: "
              f"{time.perf_counter() - refreshing:.1f} s")
    con.execute("CHECKPOINT")
    n_seq, n_tok = con.execute("SELECT count(*), (SELECT count(*) FROM tokens) FROM sequences").fetchone()
    con.close()
    size = Path(args.out).stat().st_size
    print(f"{args.out}: {n_seq:,} sequences, {n_tok:,} token rows, {size / 1e9:.2f} GB "
          f"({size / n_tok:.1f} bytes per token row) in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
