-- latest_run(): run_id of the newest complete run; the default wherever a run is optional.
CREATE OR REPLACE MACRO latest_run() AS (
    SELECT run_id FROM complete_runs ORDER BY created_at DESC, run_id DESC LIMIT 1
);
