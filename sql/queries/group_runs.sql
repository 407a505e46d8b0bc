-- group_runs: the complete runs of group $group in step order: run_id, step, created_at,
-- model, n_sequences, and the training callback's timings (NULL for a plain ingest).
SELECT run_id, step, created_at, model, n_sequences,
       (params ->> 'train_seconds')::DOUBLE AS train_seconds,
       (params ->> 'scoring_seconds')::DOUBLE AS scoring_seconds
FROM complete_runs
WHERE group_name = $group
ORDER BY step, run_id;
