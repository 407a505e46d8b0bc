-- export_sequences: what an export writes for the sequences $ids of run $run under label
-- version $labels: words, labels, word predictions and confidences, and the sequence scores.
SELECT w.seq_id, w.seq_key, w.words, w.labels, w.preds, w.confidences,
       s.total_loss, s.mean_loss, s.label_quality
FROM word_labels($run, p_labels := $labels) AS w
JOIN sequence_scores($run, p_labels := $labels) AS s USING (seq_id)
WHERE w.seq_id IN (SELECT unnest($ids::BIGINT[]));
