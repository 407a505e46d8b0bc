-- delete_run_runs: remove every runs row of a run (replacing it, or clearing an unfinished one).
DELETE FROM runs WHERE run_id = $run;
