-- evaluation_truth: the seq_ids of run $run that label version $truth labels otherwise than
-- version $labels (each falls back to gold where it stores nothing): the known corrections a
-- label-issue ranking is measured against. Only sequences one of the two versions stores can
-- differ, so only those are compared.
SELECT s.seq_id
FROM sequences AS s
LEFT JOIN sequence_labels AS t ON t.run_id = s.run_id AND t.seq_id = s.seq_id AND t.version = $truth
LEFT JOIN sequence_labels AS v ON v.run_id = s.run_id AND v.seq_id = s.seq_id AND v.version = $labels
WHERE s.run_id = $run
  AND s.seq_id IN (SELECT seq_id FROM sequence_labels WHERE run_id = $run AND version IN ($truth, $labels))
  AND coalesce(t.labels, s.labels) IS DISTINCT FROM coalesce(v.labels, s.labels)
ORDER BY s.seq_id;
