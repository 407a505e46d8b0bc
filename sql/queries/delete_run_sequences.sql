-- delete_run_sequences: remove every sequences row of a run (replacing it, or clearing an unfinished one).
DELETE FROM sequences WHERE run_id = $run;
