-- sequence_label_quality(p_run, p_labels := 'gold', p_method := 'softmin'): per sequence of a run,
-- the label-quality score that ranks sequences by how likely they carry a label error
-- (cleanlab.token_classification.rank.get_label_quality_scores, Wang & Mueller 2022): the
-- labelled tokens' self-confidence p(given label) aggregated per sentence, by
--   'softmin'  sum(s * softmax((1 - s) / 0.05)): cleanlab's soft-min at temperature 0.05, the
--              label_quality stored at ingest (close to the minimum, but a second bad token
--              lowers it further);
--   'min'      the worst token's self-confidence (the paper's worst-token method, cleanlab's
--              default sentence_score_method).
-- Lower = more likely mislabelled. With total_loss, the book's ranking, alongside.
CREATE OR REPLACE MACRO sequence_label_quality(p_run, p_labels := 'gold', p_method := 'softmin') AS TABLE
SELECT seq_id, label_quality, total_loss, n_labelled
FROM sequence_scores(p_run, p_labels := p_labels)
WHERE p_method = 'softmin'
UNION ALL
SELECT s.seq_id, w.worst AS label_quality, s.total_loss, s.n_labelled
FROM sequence_scores(p_run, p_labels := p_labels) AS s
LEFT JOIN (
    SELECT seq_id, min(exp(-loss::DOUBLE)) AS worst
    FROM token_labels(p_run, p_labels := p_labels)
    WHERE label IS NOT NULL
    GROUP BY seq_id
) AS w ON w.seq_id = s.seq_id
WHERE p_method = 'min';
