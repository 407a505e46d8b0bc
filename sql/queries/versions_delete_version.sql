-- versions_delete_version: remove the label_versions row of version $version of run $run (--replace).
DELETE FROM label_versions WHERE run_id = $run AND version = $version;
