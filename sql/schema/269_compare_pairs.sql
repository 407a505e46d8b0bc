-- compare_pairs(p_run_a, p_run_b): which sequence of run b is which of run a, by compare_keys;
-- the k-th copy of a repeated sentence in one run pairs with the k-th in the other. One row per
-- pair: seq_key (run a's), seq_id_a, seq_id_b.
CREATE OR REPLACE MACRO compare_pairs(p_run_a, p_run_b) AS TABLE
WITH numbered AS (
    SELECT *, row_number() OVER (PARTITION BY run_id, pair_key ORDER BY seq_id) AS copy
    FROM compare_keys(p_run_a, p_run_b)
)
SELECT a.seq_key, a.seq_id AS seq_id_a, b.seq_id AS seq_id_b
FROM numbered AS a
JOIN numbered AS b ON b.pair_key = a.pair_key AND b.copy = a.copy AND b.run_id = p_run_b
WHERE a.run_id = p_run_a;
