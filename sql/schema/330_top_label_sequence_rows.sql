-- top_label_sequence_rows(p_n, p_run, p_labels := 'gold', p_by := 'total_loss'): the n worst
-- sequences against label version p_labels, each with its ordered tokens / labels / preds /
-- losses lists, labels and losses taken from that version (token_labels).
CREATE OR REPLACE MACRO top_label_sequence_rows(p_n, p_run, p_labels := 'gold', p_by := 'total_loss') AS TABLE
WITH top AS (SELECT * FROM top_label_sequences(p_n, p_run, p_labels := p_labels, p_by := p_by))
SELECT top.rank, top.run_id, top.seq_id, top.total_loss, top.mean_loss, top.label_quality,
       list(t.token ORDER BY t.position) AS tokens,
       list(coalesce(t.label, 'IGN') ORDER BY t.position) AS labels,
       list(t.pred ORDER BY t.position) AS preds,
       list(t.loss ORDER BY t.position) AS losses
FROM top
JOIN token_labels(p_run, p_labels := p_labels) AS t ON t.seq_id = top.seq_id
GROUP BY ALL
ORDER BY top.rank;
