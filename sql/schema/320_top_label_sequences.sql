-- top_label_sequences(p_n, p_run, p_labels := 'gold', p_by := 'total_loss'): the n worst
-- sequences of a run judged against label version p_labels, ranked as top_sequences ranks
-- them: total_loss or mean_loss highest first, label_quality lowest first.
CREATE OR REPLACE MACRO top_label_sequences(p_n, p_run, p_labels := 'gold', p_by := 'total_loss') AS TABLE
SELECT row_number() OVER (ORDER BY score DESC, seq_id) AS rank, * EXCLUDE (score)
FROM (
    SELECT *,
           ranking_score(p_by, total_loss, mean_loss, label_quality) AS score
    FROM sequence_scores(p_run, p_labels := p_labels)
    ORDER BY score DESC NULLS LAST, seq_id
    LIMIT p_n
);
