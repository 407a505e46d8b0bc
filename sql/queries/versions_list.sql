-- versions_list: the label versions of run $run: 'gold' (the source's labels) first, then every
-- imported version in the order it was created, with the number of sequences it changes.
SELECT 'gold' AS version, r.created_at, r.data_source AS source, 0::BIGINT AS n_changed
FROM complete_runs AS r WHERE r.run_id = $run
UNION ALL
SELECT v.version, v.created_at, v.source, v.n_changed
FROM label_versions AS v WHERE v.run_id = $run
ORDER BY version <> 'gold', created_at, version;
