-- sequence_details: for the sequences $seq_ids of run $run, one row each: the words, the
-- counts of labelled and wrongly predicted tokens (judged against label version $labels:
-- sequence_scores), and per token position (in order) the
-- word index and the three most probable labels with their probabilities (what the report
-- shows when a token is hovered).
WITH wanted AS (
    SELECT unnest($seq_ids::BIGINT[]) AS seq_id
),
rows AS (
    SELECT t.seq_id,
           list(t.word_index ORDER BY t.position) AS word_index,
           list(list_transform(list_slice(list_grade_up(t.probs, 'DESC'), 1, 3),
                               lambda i: {'label': r.label_names[i], 'p': t.probs[i]})
                ORDER BY t.position) AS top_probs
    FROM tokens AS t
    JOIN wanted AS w ON w.seq_id = t.seq_id
    JOIN complete_runs AS r ON r.run_id = t.run_id
    WHERE t.run_id = $run
    GROUP BY t.seq_id
)
SELECT s.seq_id, q.words, s.n_labelled, s.n_errors, rows.word_index, rows.top_probs
FROM sequence_scores($run, p_labels := $labels) AS s
JOIN sequences AS q ON q.run_id = s.run_id AND q.seq_id = s.seq_id
JOIN wanted AS w ON w.seq_id = s.seq_id
JOIN rows ON rows.seq_id = s.seq_id
ORDER BY s.seq_id;
