"""Cold-process timings of the read-only commands on a (large) store.

    python bench/query_bench.py --db big.duckdb [--repeat 3] [--only entities]

Each command runs as a fresh `lossdb` process, as a user would type it; the figure is
the median wall time. The baseline in the same run is a bare interpreter that imports
duckdb and opens the store read-only: what no query can go below.
"""
from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import common  # noqa: E402

COMMANDS = [
    ["top", "--n", "3"],
    ["top", "--n", "3", "--by", "label_quality"],
    ["top", "--n", "3", "--format", "json"],
    ["runs"],
    ["sql", "SELECT count(*) FROM sequence_losses"],
]
# Analysis commands (issue #3); each is timed only if this lossdb has it.
ANALYSIS = [
    ["loss-by", "token", "--n", "10"],
    ["loss-by", "label"],
    ["confusion"],
    ["entities"],
    ["entities", "--errors"],
    ["issues", "--n", "10"],
    ["search", "▁("],
    ["summary"],
]


def main() -> None:
    parser = common.parser(__doc__, "db")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", help="time only the commands that contain this text")
    args = parser.parse_args()

    baseline_code = f"import duckdb; duckdb.connect({args.db!r}, read_only=True).close()"
    baseline = statistics.median(common.timed([sys.executable, "-c", baseline_code])[0] for _ in range(args.repeat))
    print(f"{'command':<52} {'median s':>9} {'x baseline':>10}")
    print(f"{'(baseline: python -c import duckdb; connect)':<52} {baseline:9.3f} {1.0:10.2f}")
    for command in COMMANDS + ANALYSIS:
        if args.only and args.only not in " ".join(command):
            continue
        argv = [sys.executable, "-m", "lossdb.cli.app", *command, "--db", args.db]
        times, code = [], 0
        for _ in range(args.repeat):
            seconds, code = common.timed(argv)
            times.append(seconds)
        if code == 2 and command in ANALYSIS:
            continue  # not a command of this lossdb
        label = "lossdb " + " ".join(command)
        status = "" if code == 0 else f"  (exit {code})"
        print(f"{label:<52} {statistics.median(times):9.3f} {statistics.median(times) / baseline:10.2f}{status}")


if __name__ == "__main__":
    main()
