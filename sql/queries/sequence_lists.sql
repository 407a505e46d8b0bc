-- sequence_lists: the ordered tokens / labels ('IGN' where ignored) / preds / losses of the
-- sequences $seq_ids of run $run under label version $labels: the shape of `top`. A constant
-- list filter lets DuckDB skip the row groups of other sequences.
SELECT seq_id,
       list(token ORDER BY position) AS tokens,
       list(coalesce(label, 'IGN') ORDER BY position) AS labels,
       list(pred ORDER BY position) AS preds,
       list(loss ORDER BY position) AS losses
FROM token_labels($run, p_labels := $labels)
WHERE list_contains($seq_ids, seq_id)
GROUP BY seq_id;
