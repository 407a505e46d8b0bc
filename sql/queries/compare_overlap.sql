-- compare_overlap: how many sequences runs $run_a and $run_b share and how many each has. A key
-- that run a holds m times and run b n times makes min(m, n) of compare_pairs' pairs, so this
-- counts them with one GROUP BY, not compare_pairs' numbering of every sequence.
WITH counts AS (
    SELECT count(*) FILTER (run_id = $run_a) AS n_a, count(*) FILTER (run_id = $run_b) AS n_b
    FROM compare_keys($run_a, $run_b)
    GROUP BY pair_key
)
SELECT coalesce(sum(least(n_a, n_b)), 0)::BIGINT AS shared,
       coalesce(sum(n_a), 0)::BIGINT AS n_a,
       coalesce(sum(n_b), 0)::BIGINT AS n_b
FROM counts;
