-- delete_run_label_versions: remove every label_versions row of a run (its label versions go with the run's rows).
DELETE FROM label_versions WHERE run_id = $run;
