-- compare_overlap: how many sequences runs $run_a and $run_b share (compare_pairs) and how many
-- each has.
SELECT (SELECT count(*) FROM compare_pairs($run_a, $run_b)) AS shared,
       (SELECT count(*) FROM sequences WHERE run_id = $run_a) AS n_a,
       (SELECT count(*) FROM sequences WHERE run_id = $run_b) AS n_b;
