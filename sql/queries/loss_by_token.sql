-- loss_by_token: count, mean and sum of the loss per input token of run $run (labels $labels),
-- highest sum first; the first $n (NULL: all).
SELECT token, count, mean, sum
FROM loss_by_token($run, p_labels := $labels)
ORDER BY sum DESC, token
LIMIT $n OFFSET 0;  -- OFFSET 0: DuckDB 2.0.1 can drop a bare LIMIT over token_labels
