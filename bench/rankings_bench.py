"""Label-issue rankings on a large store: `issues --evaluate`, `top --by label_quality`, `issues`.

    python bench/make_big_store.py --source bench/out/noise-sentence/noise.duckdb --run noisy --copies 100 --out big.duckdb --refresh-label-quality
    python bench/rankings_bench.py --db big.duckdb --source bench/out/noise-sentence/noise.duckdb --run noisy \\
        --version clean --copies 100 [--repeat 3]

The big store replicates the runs, sequences and tokens of the source; this copies the source's
label version `--version` into every copy (seq_ids offset as make_big_store offsets them), so
`--evaluate` has a million sequences and their corrections. Each command then runs as a fresh
`lossdb` process; the figure is the median wall time, beside a bare interpreter that imports
duckdb and opens the store (the baseline, measured in the same run).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).parent))
import common  # noqa: E402

COMMANDS = [
    ["issues", "--evaluate", "{version}"],
    ["top", "--n", "3", "--by", "label_quality"],
    ["issues", "--n", "10"],
    ["issues", "--n", "10", "--method", "softmin"],
]


def copy_version(db: str, source: str, run: str, version: str, copies: int, target: str) -> int:
    """Copy the version into every copy, then store its default scores as import-labels does
    (score_version), and print how long that took."""
    from lossdb.queries import db as store_db

    con = duckdb.connect(db)
    try:
        con.execute("ATTACH $path AS src (READ_ONLY)", {"path": source})
        stride = con.execute("SELECT max(seq_id) + 1 FROM src.sequences WHERE run_id = $run", {"run": run}).fetchone()[0]
        con.execute("DELETE FROM sequence_labels WHERE run_id = $target AND version = $version",
                    {"target": target, "version": version})
        con.execute("DELETE FROM label_versions WHERE run_id = $target AND version = $version",
                    {"target": target, "version": version})
        con.execute("""INSERT INTO sequence_labels
                       SELECT $target, version, seq_id + c.copy * $stride, labels
                       FROM src.sequence_labels, range($copies) AS c(copy)
                       WHERE run_id = $run AND version = $version""",
                    {"target": target, "run": run, "version": version, "stride": stride, "copies": copies})
        n = con.execute("SELECT count(*) FROM sequence_labels WHERE run_id = $target AND version = $version",
                        {"target": target, "version": version}).fetchone()[0]
        con.execute("INSERT INTO label_versions VALUES ($target, $version, now(), 'rankings_bench', $n)",
                    {"target": target, "version": version, "n": n})
        scoring = time.perf_counter()
        with store_db.transaction(con):
            store_db.score_version(con, target, version)
        print(f"score_version (the version's posterior_softmin and rank_mean, as import-labels stores them): "
              f"{time.perf_counter() - scoring:.1f} s")
        con.execute("CHECKPOINT")
        return n
    finally:
        con.close()


def main() -> None:
    parser = common.parser(__doc__, "db", "source", "run", "version")
    parser.add_argument("--copies", type=int, default=100)
    parser.add_argument("--target-run", default="big")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n = copy_version(args.db, args.source, args.run, args.version, args.copies, args.target_run)
    con = duckdb.connect(args.db, read_only=True)
    n_seq = con.execute("SELECT count(*) FROM sequences WHERE run_id = $r", {"r": args.target_run}).fetchone()[0]
    con.close()
    print(f"{args.db}: {n_seq:,} sequences, label version {args.version!r} changes {n:,}")
    lossdb = [sys.executable, "-m", "lossdb.cli.app"]
    baseline = [sys.executable, "-c", f"import duckdb; duckdb.connect({args.db!r}, read_only=True).close()"]
    rows = [("(baseline: import duckdb, connect)", baseline)]
    for command in COMMANDS:
        argv = [part.format(version=args.version) for part in command]
        rows.append(("lossdb " + " ".join(argv), [*lossdb, *argv, "--db", args.db, "--run", args.target_run]))
    common.print_timings(rows, args.repeat)


if __name__ == "__main__":
    main()
