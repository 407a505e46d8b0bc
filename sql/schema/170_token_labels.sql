-- token_labels(p_run, p_labels := 'gold'): a run's token rows judged against a label
-- version: label and loss come from that version's word labels (the first subword of each
-- word carries it, as at ingest), recomputed from the stored probabilities; gold rows are
-- the stored ones. Every token-level analysis reads this, so it works for any version.
-- Gold takes the first branch, which reads no probabilities and joins nothing (8x faster
-- on a million sequences); only one branch yields rows for a given p_labels.
CREATE OR REPLACE MACRO token_labels(p_run, p_labels := 'gold') AS TABLE
SELECT t.run_id, t.seq_id, t.position, t.token, t.token_id, t.word_index, t.label, t.pred, t.loss, t.probs
FROM tokens AS t
WHERE t.run_id = p_run AND p_labels = 'gold'
  AND t.run_id IN (SELECT run_id FROM complete_runs)
UNION ALL
SELECT t.run_id, t.seq_id, t.position, t.token, t.token_id, t.word_index,
       CASE WHEN t.label IS NULL OR v.labels IS NULL THEN t.label
            ELSE v.labels[t.word_index + 1] END AS label,
       t.pred,
       CASE WHEN t.label IS NULL OR v.labels IS NULL THEN t.loss
            ELSE -ln(greatest(t.probs[list_position(r.label_names, v.labels[t.word_index + 1])], 1e-45))::FLOAT
       END AS loss,
       t.probs
FROM tokens AS t
JOIN complete_runs AS r ON r.run_id = t.run_id
LEFT JOIN sequence_labels AS v
       ON v.run_id = t.run_id AND v.seq_id = t.seq_id AND v.version = p_labels
CROSS JOIN (SELECT known_version(p_run, p_labels) AS known) AS k  -- one row, or an error (sql/schema/116)
WHERE t.run_id = p_run AND p_labels <> 'gold' AND k.known;
