-- merge_sequence_labels: append one source's label-version rows of run $run (registered as
-- merge_source_sequence_labels).
INSERT INTO sequence_labels BY NAME SELECT * FROM merge_source_sequence_labels WHERE run_id = $run;
