-- compare_count: how many sequences runs $run_a and $run_b share (by seq_key).
SELECT count(*) AS n FROM (
    SELECT seq_key FROM sequences WHERE run_id = $run_a
    INTERSECT ALL
    SELECT seq_key FROM sequences WHERE run_id = $run_b
);
