-- group_names: every group of complete runs with its number of runs, newest first.
SELECT group_name, count(*) AS n_runs, max(created_at) AS last_created_at
FROM complete_runs
WHERE group_name IS NOT NULL
GROUP BY group_name
ORDER BY last_created_at DESC, group_name;
