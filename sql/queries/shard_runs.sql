-- shard_runs: the complete runs of a store with what a merge needs to check them.
SELECT run_id, created_at, model, model_revision, data_source, split, label_names,
       n_sequences, n_tokens, n_windowed, n_truncated, params, lossdb_version, group_name, step
FROM complete_runs ORDER BY run_id;
