-- compare_sequences: the $n sequences runs $run_a and $run_b share whose $by changed most (by
-- absolute change), with both runs' figures and the text.
WITH pairs AS (
    SELECT *, ranking_score($by, delta_total_loss, delta_mean_loss, delta_label_quality) AS delta
    FROM compare_sequences($run_a, $run_b, p_labels := $labels)
),
top AS (
    SELECT * FROM pairs ORDER BY abs(delta) DESC NULLS LAST, seq_id_a LIMIT $n OFFSET 0  -- OFFSET 0: DuckDB 2.0.1 can drop a bare LIMIT over token_labels
)
SELECT row_number() OVER (ORDER BY abs(delta) DESC NULLS LAST, seq_id_a) AS rank,
       top.* EXCLUDE (delta), array_to_string(s.words, ' ') AS text
FROM top
JOIN sequences AS s ON s.run_id = $run_a AND s.seq_id = top.seq_id_a
ORDER BY rank;
