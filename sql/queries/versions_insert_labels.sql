-- versions_insert_labels: the changed sequences of a new label version, from the Arrow table
-- registered as import_labels_staged (seq_id, labels).
INSERT INTO sequence_labels (run_id, version, seq_id, labels)
SELECT $run, $version, seq_id, labels FROM import_labels_staged ORDER BY seq_id;
