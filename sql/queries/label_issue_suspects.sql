-- label_issue_suspects: per sequence of $seq_ids (run $run, labels $labels), the tokens cleanlab's
-- confident-learning filter flags (token_issues), least confident first, as structs.
SELECT i.seq_id,
       list({'word_index': i.word_index, 'word': s.words[i.word_index + 1], 'token': i.token,
             'label': i.label, 'pred': i.pred, 'p_label': i.p_label, 'p_pred': i.p_pred}
            ORDER BY i.p_label, i.word_index) AS suspects
FROM token_issues($run, p_labels := $labels) AS i
JOIN sequences AS s ON s.run_id = $run AND s.seq_id = i.seq_id
WHERE i.is_issue AND list_contains($seq_ids, i.seq_id)
GROUP BY i.seq_id;
