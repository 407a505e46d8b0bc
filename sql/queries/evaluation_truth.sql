-- evaluation_truth: per sequence of run $run (seq_id order), positive: whether label version
-- $truth gives it other word labels than version $labels (each falls back to gold where it
-- stores nothing), the known corrections a label-issue ranking is measured against.
SELECT s.seq_id,
       coalesce(t.labels, s.labels) IS DISTINCT FROM coalesce(v.labels, s.labels) AS positive
FROM sequences AS s
LEFT JOIN sequence_labels AS t ON t.run_id = s.run_id AND t.seq_id = s.seq_id AND t.version = $truth
LEFT JOIN sequence_labels AS v ON v.run_id = s.run_id AND v.seq_id = s.seq_id AND v.version = $labels
WHERE s.run_id = $run
ORDER BY s.seq_id;
