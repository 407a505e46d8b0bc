-- run_group_step: the group and step of complete run $run (no row: no such run).
SELECT group_name, step FROM complete_runs WHERE run_id = $run;
