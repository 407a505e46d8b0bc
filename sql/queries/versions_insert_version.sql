-- versions_insert_version: record label version $version of run $run, imported from $source.
INSERT INTO label_versions (run_id, version, created_at, source, n_changed)
VALUES ($run, $version, now(), $source, $n_changed);
