"""`lossdb compare` on a million sequences, and what the commit's repeated-ids note costs there.

    python bench/make_big_store.py --source bench/out/noise-sentence/noise.duckdb --run noisy --copies 100 --out big.duckdb
    python bench/compare_bench.py --db big.duckdb --source bench/out/noise-sentence/noise.duckdb --run noisy \\
        --copies 100 [--repeat 3]

Adds a second run (`big_b`, the same copies again) to the big store, then:
- in one process, the commit's repeated-ids query (sql/queries/run_repeated_ids.sql) over the
  million sequences, with no source ids, with a unique id each and with every id repeated 100
  times, beside `score_run`, which every commit runs on the same run;
- cold `lossdb compare` processes, pairing by the words (neither run has source ids, as with
  CoNLL) and by source id, beside a bare interpreter that imports duckdb and opens the store.
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import common  # noqa: E402

from lossdb import sql  # noqa: E402

RUN_A, RUN_B = "big", "big_b"
COMMANDS = [
    ["compare", RUN_A, RUN_B],
    ["compare", RUN_A, RUN_B, "--what", "labels"],
    ["compare", RUN_A, RUN_B, "--what", "entities"],
]


def add_second_run(con, source: str, run: str, copies: int) -> None:
    """Replicate the source run into RUN_B as make_big_store replicated it into RUN_A."""
    from lossdb.queries import db as store_db

    con.execute("ATTACH $path AS src (READ_ONLY)", {"path": source})
    stride = con.execute("SELECT max(seq_id) + 1 FROM src.sequences WHERE run_id = $run", {"run": run}).fetchone()[0]
    params = {"run": run, "target": RUN_B, "stride": stride}
    with store_db.transaction(con):
        for name in ("delete_run_tokens", "delete_run_sequences", "delete_run_runs"):
            con.execute(sql.read(name), {"run": RUN_B})
        for copy in range(copies):
            con.execute(common.bench_sql("replicate_tokens"), {**params, "copy": copy})
            con.execute(common.bench_sql("replicate_sequences"), {**params, "copy": copy})
        con.execute(common.bench_sql("replicate_run"), {"run": run, "target": RUN_B, "copies": copies})
    con.execute("DETACH src")


def time_commit_queries(con) -> None:
    """The repeated-ids query under three kinds of source ids, against score_run (median of 3 each)."""
    from lossdb.queries import db as store_db

    repeated = sql.read("run_repeated_ids")

    def median(work) -> float:
        times = []
        for _ in range(3):
            started = time.perf_counter()
            work()
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    def score() -> None:
        with store_db.transaction(con):
            store_db.score_run(con, RUN_B)

    base = median(score)
    print(f"score_run over {RUN_B!r} (what every commit runs): {base:.3f} s")
    kinds = {"no source ids": "NULL", "a unique id each": "seq_key",
             "every id repeated 100 times": "split_part(seq_key, '#', 1)"}
    try:
        for kind, value in kinds.items():
            con.execute(f"UPDATE sequences SET source_id = {value} WHERE run_id = $run", {"run": RUN_B})
            seconds = median(lambda: con.execute(repeated, {"run": RUN_B}).fetchall())
            print(f"run_repeated_ids, {kind}: {seconds:.3f} s = {seconds / base:.3f} x score_run")
    finally:
        con.execute("UPDATE sequences SET source_id = NULL WHERE run_id = $run", {"run": RUN_B})


def set_source_ids(db: str, value: str) -> None:
    """Give both runs' sequences source_id = `value` (an SQL expression), which decides how compare pairs them."""
    import duckdb

    con = duckdb.connect(db)
    try:
        con.execute(f"UPDATE sequences SET source_id = {value} WHERE run_id IN ($a, $b) "
                    f"AND source_id IS DISTINCT FROM {value}", {"a": RUN_A, "b": RUN_B})
    finally:
        con.close()


def main() -> None:
    parser = common.parser(__doc__, "db", "source", "run")
    parser.add_argument("--copies", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from lossdb.queries import db as store_db

    con = store_db.connect(args.db, read_only=False)
    try:
        started = time.perf_counter()
        add_second_run(con, args.source, args.run, args.copies)
        print(f"added run {RUN_B!r} in {time.perf_counter() - started:.0f} s")
        time_commit_queries(con)
        con.execute("CHECKPOINT")
    finally:
        con.close()

    lossdb = [sys.executable, "-m", "lossdb.cli.app"]
    baseline = [sys.executable, "-c", f"import duckdb; duckdb.connect({args.db!r}, read_only=True).close()"]
    rows, ids_of = [("(baseline: import duckdb, connect)", baseline)], {}
    for pairing, ids in (("by words", "NULL"), ("by source id", "seq_key")):
        for c in COMMANDS:
            name = f"lossdb {' '.join(c)} ({pairing})"
            rows.append((name, [*lossdb, *c, "--db", args.db]))
            ids_of[name] = ids
    common.print_timings(rows, args.repeat,
                         before=lambda name: set_source_ids(args.db, ids_of[name]) if name in ids_of else None)


if __name__ == "__main__":
    main()
