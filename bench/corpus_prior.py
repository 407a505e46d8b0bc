"""How much corpus_min (the default label-issue ranking) depends on its one constant: the weight
of the prior, in pseudo-counts (lossdb uses 1). For each weight, AUPRC and AUROC against a label
version of known corrections, as a ratio to cleanlab's best sentence score (min or softmin) on the
same store, with threshold_min (no corpus) beside it.

    python bench/corpus_prior.py --db bench/out/noise-sentence/noise.duckdb --run noisy --truth clean
"""
from __future__ import annotations

import numpy as np

from lossdb.queries import db as store_db
from lossdb.queries import rankings

from common import bench_sql, parser

STRENGTHS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


def main() -> None:
    args = parser(__doc__, "db", "run", "truth").parse_args()
    con = store_db.connect(args.db)
    scores, y = rankings._scores_and_truth(con, args.run, "gold", args.truth)

    def figures(values):
        s = rankings.suspicion(values, descending=False)
        return rankings.average_precision(y, s), rankings.auroc(y, s)

    cleanlab = max(figures(scores[m])[0] for m in ("min", "softmin"))
    print(f"{args.db}: {int(y.sum())} positives of {len(y)}; cleanlab's best AUPRC {cleanlab:.3f}")
    ap, auc = figures(scores["threshold_min"])
    print(f"threshold_min (no corpus)  AUPRC {ap:.3f}  {ap / cleanlab:.3f}x  AUROC {auc:.3f}")
    for strength in STRENGTHS:
        got = con.execute(bench_sql("corpus_prior"), {"run": args.run, "strength": strength}).fetchnumpy()
        assert np.array_equal(np.asarray(got["seq_id"]), np.asarray(scores["seq_id"]))
        ap, auc = figures(got["corpus_min"])
        mark = "  (lossdb's)" if strength == 1.0 else ""
        print(f"corpus_min, prior weight {strength:<5}  AUPRC {ap:.3f}  {ap / cleanlab:.3f}x  AUROC {auc:.3f}{mark}")


if __name__ == "__main__":
    main()
