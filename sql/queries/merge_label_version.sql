-- merge_label_version: record label version $version of run $run carried over by a merge (its
-- time and source file as the source stores had them; n_changed summed over shards).
INSERT INTO label_versions (run_id, version, created_at, source, n_changed)
VALUES ($run, $version, $created_at, $source, $n_changed);
