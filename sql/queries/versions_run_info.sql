-- versions_run_info: what export and import need to know about complete run $run.
SELECT run_id, label_names, model, data_source, n_sequences FROM complete_runs WHERE run_id = $run;
