-- top_sequence_rows(n, p_run := NULL, p_by := 'total_loss'): the n worst sequences, each
-- with its ordered tokens / labels / preds / losses lists (ordered aggregation over the
-- token rows), the shape of the book's table.
CREATE OR REPLACE MACRO top_sequence_rows(p_n, p_run := NULL, p_by := 'total_loss') AS TABLE
WITH top AS (SELECT * FROM top_sequences(p_n, p_run := p_run, p_by := p_by))
SELECT top.rank, top.run_id, top.seq_id, top.total_loss, top.mean_loss, top.label_quality,
       list(t.token ORDER BY t.position) AS tokens,
       list(coalesce(t.label, 'IGN') ORDER BY t.position) AS labels,
       list(t.pred ORDER BY t.position) AS preds,
       list(t.loss ORDER BY t.position) AS losses
FROM top
JOIN tokens AS t ON t.run_id = top.run_id AND t.seq_id = top.seq_id
GROUP BY ALL
ORDER BY top.rank;
