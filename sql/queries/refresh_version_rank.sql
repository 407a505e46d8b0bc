-- refresh_version_rank: set version_quality.label_quality, the default label-issue score
-- (rank_mean, sql/schema/177_label_scores.sql), of every sequence of run $run under label
-- version $version, after refresh_version_quality has stored the posterior_softmin it ranks.
UPDATE version_quality AS v
SET label_quality = c.rank_mean
FROM label_scores($run, p_labels := $version) AS c
WHERE v.run_id = $run AND v.version = $version AND v.seq_id = c.seq_id;
