-- replicate_tokens: copy $copy of run $run's token rows from the attached source `src`,
-- as run $target with seq_id shifted by $copy * $stride.
INSERT INTO tokens
SELECT $target, seq_id + $copy * $stride, position, token, token_id, word_index, label, pred, loss, probs
FROM src.tokens WHERE run_id = $run ORDER BY seq_id, position;
