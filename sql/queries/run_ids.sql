-- run_ids: every run of the store, complete or not (a migration rescoring each of them).
SELECT run_id FROM runs ORDER BY run_id;
