-- sequence_rows(p_run, p_seq_id): one sequence's token rows in order, labels shown as
-- the book shows them ('IGN' where ignored).
CREATE OR REPLACE MACRO sequence_rows(p_run, p_seq_id) AS TABLE
SELECT position, token, coalesce(label, 'IGN') AS label, pred, loss, word_index
FROM tokens
WHERE run_id = p_run AND seq_id = p_seq_id
ORDER BY position;
