-- token_issues: the labelled tokens of run $run (labels $labels) with cleanlab's self-confidence
-- and confident-learning flag, optionally only sequence $seq_id and only flagged tokens
-- ($only_issues), least confident first.
SELECT i.seq_id, i.position, i.word_index, s.words[i.word_index + 1] AS word, i.token, i.label, i.pred,
       i.p_label, i.p_pred, i.threshold, i.is_issue
FROM token_issues($run, p_labels := $labels) AS i
JOIN sequences AS s ON s.run_id = $run AND s.seq_id = i.seq_id
WHERE ($seq_id IS NULL OR i.seq_id = $seq_id) AND (NOT $only_issues OR i.is_issue)
ORDER BY i.p_label, i.seq_id, i.position
LIMIT $n OFFSET 0;  -- OFFSET 0: DuckDB 2.0.1 can drop a bare LIMIT over token_labels
