-- run_versions: the label versions of run $run, by name (what replacing the run would touch, and what its scores are stored for).
SELECT version FROM label_versions WHERE run_id = $run ORDER BY version;
