-- refresh_label_quality: set sequences.label_quality, the default label-issue score (corpus_min,
-- sql/schema/176_corpus_quality.sql), of every sequence of run $run from its stored token rows.
-- It depends on the whole run (the thresholds, and how each word is labelled elsewhere in it),
-- so it runs once the run's rows are all in: at ingest's commit, after `lossdb merge`, and
-- when migration 0005 fills an older store. NULL where no word is labelled.
UPDATE sequences AS s
SET label_quality = c.corpus_min
FROM (
    SELECT q.seq_id, c.corpus_min
    FROM sequences AS q
    LEFT JOIN corpus_quality($run) AS c USING (seq_id)
    WHERE q.run_id = $run
) AS c
WHERE s.run_id = $run AND s.seq_id = c.seq_id;
