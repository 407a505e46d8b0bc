-- label_issues: the $n sequences of run $run most likely to carry a label error under label
-- version $labels, lowest label quality ($method: softmin or min) first: rank, seq_id,
-- label_quality, the book's total_loss, and the text. Their suspected tokens come from
-- label_issue_suspects.
WITH ranked AS (
    SELECT seq_id, label_quality, total_loss
    FROM sequence_label_quality($run, p_labels := $labels, p_method := $method)
    ORDER BY label_quality ASC NULLS LAST, seq_id
    LIMIT $n OFFSET 0  -- OFFSET 0: DuckDB 2.0.1 can drop a bare LIMIT over token_labels
)
SELECT row_number() OVER (ORDER BY r.label_quality ASC NULLS LAST, r.seq_id) AS rank,
       $run AS run_id, r.seq_id, r.label_quality, r.total_loss,
       array_to_string(s.words, ' ') AS text
FROM ranked AS r
JOIN sequences AS s ON s.run_id = $run AND s.seq_id = r.seq_id
ORDER BY rank;
