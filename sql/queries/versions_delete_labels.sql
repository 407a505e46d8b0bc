-- versions_delete_labels: remove the word labels of label version $version of run $run (--replace).
DELETE FROM sequence_labels WHERE run_id = $run AND version = $version;
