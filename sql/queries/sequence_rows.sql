-- sequence_rows: one sequence's ordered token rows.
SELECT position, token, label, pred, loss, word_index
FROM sequence_rows($run, $seq_id);
