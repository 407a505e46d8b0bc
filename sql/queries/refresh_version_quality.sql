-- refresh_version_quality: store posterior_softmin (sql/schema/176_posterior_quality.sql) of
-- every sequence of run $run under label version $version in version_quality, after
-- delete_version_quality has cleared the version's rows; refresh_version_rank then ranks by it.
-- Like refresh_posterior_softmin for gold, it runs once the run's rows and the version's labels
-- are all in.
INSERT INTO version_quality (run_id, version, seq_id, posterior_softmin)
SELECT $run, $version, s.seq_id, q.posterior_softmin
FROM sequences AS s
LEFT JOIN posterior_quality($run, p_labels := $version) AS q USING (seq_id)
WHERE s.run_id = $run
ORDER BY s.seq_id;
