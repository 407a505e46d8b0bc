-- compare_pairs(p_run_a, p_run_b): which sequence of run b is which of run a. Pairs by the
-- source's id (seq_key) when both runs have one for every sequence, else by the words (one run
-- with ids, one without, still pairs up); the k-th copy of a repeated sentence in one run pairs
-- with the k-th in the other. One row per pair: seq_key (run a's), seq_id_a, seq_id_b.
CREATE OR REPLACE MACRO compare_pairs(p_run_a, p_run_b) AS TABLE
WITH by_id AS (
    SELECT coalesce(bool_and(source_id IS NOT NULL), false) AS yes
    FROM sequences
    WHERE run_id IN (p_run_a, p_run_b)
),
keyed AS (
    SELECT run_id, seq_id, seq_key,
           CASE WHEN (SELECT yes FROM by_id) THEN seq_key ELSE words_hash END AS pair_key  -- stored at commit
    FROM sequences
    WHERE run_id IN (p_run_a, p_run_b)
),
numbered AS (
    SELECT *, row_number() OVER (PARTITION BY run_id, pair_key ORDER BY seq_id) AS copy
    FROM keyed
)
SELECT a.seq_key, a.seq_id AS seq_id_a, b.seq_id AS seq_id_b
FROM numbered AS a
JOIN numbered AS b ON b.pair_key = a.pair_key AND b.copy = a.copy AND b.run_id = p_run_b
WHERE a.run_id = p_run_a;
