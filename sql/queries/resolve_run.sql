-- resolve_run: the run a query reads: $run if it is complete, else (when $run is NULL) the newest.
SELECT coalesce($run, latest_run()) AS run_id,
       EXISTS (SELECT 1 FROM complete_runs WHERE run_id = coalesce($run, latest_run())) AS found;
