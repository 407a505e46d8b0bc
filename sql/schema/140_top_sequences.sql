-- top_sequences(n, p_run := NULL, p_by := 'total_loss'): the n worst sequences of a run
-- (default: the newest), ranked by total_loss, mean_loss (both highest first) or
-- label_quality (lowest first: most likely mislabelled).
CREATE OR REPLACE MACRO top_sequences(p_n, p_run := NULL, p_by := 'total_loss') AS TABLE
SELECT row_number() OVER (ORDER BY score DESC, seq_id) AS rank, * EXCLUDE (score)
FROM (
    SELECT *,
           CASE p_by
               WHEN 'total_loss' THEN total_loss
               WHEN 'mean_loss' THEN mean_loss
               WHEN 'label_quality' THEN -label_quality
               ELSE error('p_by must be total_loss, mean_loss or label_quality, not ' || p_by)
           END AS score
    FROM sequence_losses
    WHERE run_id = coalesce(p_run, latest_run())
    ORDER BY score DESC NULLS LAST, seq_id
    LIMIT p_n
);
