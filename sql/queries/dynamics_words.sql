-- dynamics_words: the training dynamics of every labelled word of sequence $seq_id (all
-- sequences when NULL) of group $group, with the word's text, in word order.
WITH first_run AS (
    SELECT run_id FROM complete_runs WHERE group_name = $group ORDER BY step, run_id LIMIT 1
)
SELECT d.seq_id, d.word_index, s.words[d.word_index + 1] AS word, d.label, d.n_runs,
       d.confidence, d.variability, d.correctness, d.forgetting, d.aum, d.preds
FROM group_word_dynamics($group) AS d
JOIN sequences AS s ON s.run_id = (SELECT run_id FROM first_run) AND s.seq_id = d.seq_id
WHERE $seq_id::BIGINT IS NULL OR d.seq_id = $seq_id::BIGINT
ORDER BY d.seq_id, d.word_index;
