-- versions_exists: whether run $run has an imported label version named $version.
SELECT EXISTS (SELECT 1 FROM label_versions WHERE run_id = $run AND version = $version) AS found;
