-- top_sequences(n, p_run := NULL, p_by := 'total_loss'): the n worst sequences of a run
-- (default: the newest), ranked by total_loss, mean_loss (both highest first) or
-- label_quality (lowest first: most likely mislabelled); ties broken by seq_id.
-- Ranking on the narrow (seq_id, score) columns first and joining the rest back for the
-- n winners keeps this in tens of milliseconds on a million sequences.
CREATE OR REPLACE MACRO top_sequences(p_n, p_run := NULL, p_by := 'total_loss') AS TABLE
WITH ranked AS (
    SELECT run_id, seq_id,
           ranking_score(p_by, total_loss, mean_loss, label_quality) AS score
    FROM sequences
    WHERE run_id = coalesce(p_run, latest_run())
      AND run_id IN (SELECT run_id FROM complete_runs)
    ORDER BY score DESC NULLS LAST, seq_id
    LIMIT p_n
)
SELECT row_number() OVER (ORDER BY ranked.score DESC NULLS LAST, ranked.seq_id) AS rank, s.*
FROM ranked
JOIN sequence_losses AS s USING (run_id, seq_id)
ORDER BY rank;
