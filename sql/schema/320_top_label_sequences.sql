-- top_label_sequences(p_n, p_run, p_labels := 'gold', p_by := 'total_loss'): the n worst
-- sequences of a run judged against label version p_labels, ranked as top_sequences ranks
-- them: total_loss or mean_loss highest first, label_quality lowest first.
CREATE OR REPLACE MACRO top_label_sequences(p_n, p_run, p_labels := 'gold', p_by := 'total_loss') AS TABLE
SELECT row_number() OVER (ORDER BY score DESC, seq_id) AS rank, * EXCLUDE (score)
FROM (
    SELECT *,
           CASE p_by
               WHEN 'total_loss' THEN total_loss
               WHEN 'mean_loss' THEN mean_loss
               WHEN 'label_quality' THEN -label_quality
               ELSE error('p_by must be total_loss, mean_loss or label_quality, not ' || p_by)
           END AS score
    FROM sequence_scores(p_run, p_labels := p_labels)
    ORDER BY score DESC NULLS LAST, seq_id
    LIMIT p_n
);
