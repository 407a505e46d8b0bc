-- delete_run_tokens: remove every tokens row of a run (replacing it, or clearing an unfinished one).
DELETE FROM tokens WHERE run_id = $run;
