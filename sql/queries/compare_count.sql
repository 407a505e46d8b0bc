-- compare_count: how many sequences runs $run_a and $run_b share (compare_pairs).
SELECT count(*) AS n FROM compare_pairs($run_a, $run_b);
