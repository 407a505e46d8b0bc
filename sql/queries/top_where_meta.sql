-- top_where_meta: the $n worst sequences of run $run (labels $labels) ranked by $by, among those
-- whose metadata meets every condition in {conditions} (each: seq_key IN the keys of a metadata
-- table whose quoted column, as text, equals a bound value): rank, run_id, seq_id, total_loss,
-- mean_loss, label_quality. Their token lists come from sequence_lists.
WITH ranked AS (
    SELECT s.*,
           ranking_score($by, s.total_loss, s.mean_loss, s.label_quality) AS score
    FROM sequence_scores($run, p_labels := $labels) AS s
    WHERE {conditions}
    ORDER BY score DESC NULLS LAST, s.seq_id
    LIMIT $n OFFSET 0  -- OFFSET 0: DuckDB 2.0.1 can drop a bare LIMIT over token_labels
)
SELECT row_number() OVER (ORDER BY score DESC NULLS LAST, seq_id) AS rank, run_id, seq_id,
       total_loss, mean_loss, label_quality
FROM ranked
ORDER BY rank;
