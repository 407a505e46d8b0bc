-- delete_run_version_quality: remove every version_quality row of a run (recomputed for any
-- label version a replacing commit keeps, since the new rows change every score).
DELETE FROM version_quality WHERE run_id = $run;
