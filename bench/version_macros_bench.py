"""The label-version macros on a big store, timed in one process (the store's macros read as this
lossdb's): token_labels, label_scores and sequence_scores under a version, and sequence_scores
under gold as the baseline. Before/after figures of a change to sql/schema come from running it
once on each checkout.

    python bench/version_macros_bench.py --db bench/out/big.duckdb --run big --labels clean [--repeat 3]
"""
from __future__ import annotations

import time

import lossdb
from common import bench_sql, parser

QUERIES = {  # bench/sql/NAME.sql
    "token_labels (version): count, sum(loss)": "version_token_labels",
    "label_scores (version): count": "version_label_scores",
    "sequence_scores (version): top 3": "version_sequence_scores",
    "sequence_scores (gold): top 3, the baseline": "gold_sequence_scores",
}


def main() -> None:
    arguments = parser(__doc__, "db", "run", "labels")
    arguments.add_argument("--repeat", type=int, default=3)
    args = arguments.parse_args()
    with lossdb.connect(args.db) as store:
        for name, file in QUERIES.items():
            query = bench_sql(file)
            params = {"run": args.run, "labels": args.labels} if "$labels" in query else {"run": args.run}
            seconds = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                store.con.execute(query, params).fetchall()
                seconds.append(time.perf_counter() - started)
            print(f"{name:48s} " + " ".join(f"{s:6.2f}" for s in seconds) + " s")


if __name__ == "__main__":
    main()
