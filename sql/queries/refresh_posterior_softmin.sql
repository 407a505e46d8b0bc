-- refresh_posterior_softmin: set sequences.posterior_softmin (sql/schema/176_posterior_quality.sql)
-- of every sequence of run $run from its stored token rows; NULL where no word is labelled. It
-- depends on the whole run (the noise estimate counts all its words), so it runs once the run's
-- rows are all in, before refresh_label_quality ranks by it.
UPDATE sequences AS s
SET posterior_softmin = c.posterior_softmin
FROM (
    SELECT q.seq_id, c.posterior_softmin
    FROM sequences AS q
    LEFT JOIN posterior_quality($run) AS c USING (seq_id)
    WHERE q.run_id = $run
) AS c
WHERE s.run_id = $run AND s.seq_id = c.seq_id;
