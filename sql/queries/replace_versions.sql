-- replace_versions: the label versions of run $run (what replacing the run would touch), by name.
SELECT version FROM label_versions WHERE run_id = $run ORDER BY version;
