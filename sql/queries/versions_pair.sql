-- versions_pair: the sequences of run $run whose labels differ between versions $from and $to
-- (or might: every sequence either version stores), with their words and both label lists.
WITH stored AS (
    SELECT DISTINCT seq_id FROM sequence_labels WHERE run_id = $run AND version IN ($from, $to)
)
SELECT s.seq_id, s.words,
       coalesce(a.labels, s.labels) AS from_labels,
       coalesce(b.labels, s.labels) AS to_labels
FROM sequences AS s
JOIN stored USING (seq_id)
LEFT JOIN sequence_labels AS a ON a.run_id = s.run_id AND a.seq_id = s.seq_id AND a.version = $from
LEFT JOIN sequence_labels AS b ON b.run_id = s.run_id AND b.seq_id = s.seq_id AND b.version = $to
WHERE s.run_id = $run
ORDER BY s.seq_id;
