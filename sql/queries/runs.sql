-- runs: the complete runs of the store, newest first, with their counts.
SELECT run_id, created_at, model, model_revision, data_source, split, n_sequences, n_tokens,
       n_windowed, n_truncated, label_names, params, lossdb_version, group_name, step
FROM complete_runs
ORDER BY created_at DESC, run_id DESC;
