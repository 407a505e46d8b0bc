-- run_status: the status of a run name ('complete', something else, or no row).
SELECT status FROM runs WHERE run_id = $run;
