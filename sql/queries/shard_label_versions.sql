-- shard_label_versions: the label versions of run $run in a source store, for a merge to carry over.
SELECT version, created_at, source, n_changed FROM label_versions WHERE run_id = $run ORDER BY version;
