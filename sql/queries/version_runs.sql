-- version_runs: the complete runs that have label version $version, newest first.
SELECT v.run_id
FROM label_versions AS v
JOIN complete_runs AS r USING (run_id)
WHERE v.version = $version
ORDER BY r.created_at DESC, v.run_id;
