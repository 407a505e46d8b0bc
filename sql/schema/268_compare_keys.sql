-- compare_keys(p_run_a, p_run_b): the key each sequence of the two runs pairs up by. The source's
-- id (seq_key) when both runs have one for every sequence, else the words (words_hash, stored at
-- commit), so a run with ids and one without still pair up. One row per sequence of either run:
-- run_id, seq_id, seq_key, pair_key.
CREATE OR REPLACE MACRO compare_keys(p_run_a, p_run_b) AS TABLE
WITH by_id AS (
    SELECT coalesce(bool_and(source_id IS NOT NULL), false) AS yes
    FROM sequences
    WHERE run_id IN (p_run_a, p_run_b)
)
SELECT run_id, seq_id, seq_key, CASE WHEN (SELECT yes FROM by_id) THEN seq_key ELSE words_hash END AS pair_key
FROM sequences
WHERE run_id IN (p_run_a, p_run_b);
