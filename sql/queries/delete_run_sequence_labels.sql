-- delete_run_sequence_labels: remove every sequence_labels row of a run (its label versions go with the run's rows).
DELETE FROM sequence_labels WHERE run_id = $run;
