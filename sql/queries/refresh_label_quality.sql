-- refresh_label_quality: set sequences.label_quality, the default label-issue score (rank_mean,
-- sql/schema/177_label_scores.sql), of every sequence of run $run, after refresh_posterior_softmin
-- has stored what it ranks. It ranks the whole run, so it runs once the run's rows are all in: at
-- ingest's commit, after `lossdb merge`, and when migration 0007 fills an older store. NULL
-- where no word is labelled.
UPDATE sequences AS s
SET label_quality = c.rank_mean
FROM label_scores($run) AS c
WHERE s.run_id = $run AND s.seq_id = c.seq_id;
