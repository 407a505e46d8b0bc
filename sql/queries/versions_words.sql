-- versions_words: every sequence of run $run with word-level gold labels, the labels of version
-- $labels, the model's word predictions, losses and confidences (see word_labels).
SELECT seq_id, seq_key, words, gold, labels, preds, losses, confidences
FROM word_labels($run, p_labels := $labels)
ORDER BY seq_id;
