-- run_summary: one row per complete run: model, data source, split, language (data_language),
-- sequences, labelled tokens, token errors, mean loss per labelled token, token accuracy,
-- sequences with at least one error, mean posterior_softmin (not label_quality: that is rank_mean,
-- a rank within the run, whose mean is about 0.5 for every run). Aggregates of sequences only (cheap).
CREATE OR REPLACE VIEW run_summary AS
SELECT r.run_id, r.created_at, r.model, r.data_source, r.split, data_language(r.data_source) AS language,
       count(s.seq_id) AS n_sequences,
       coalesce(sum(s.n_labelled), 0)::BIGINT AS n_labelled,
       coalesce(sum(s.n_errors), 0)::BIGINT AS n_errors,
       sum(s.total_loss) / nullif(sum(s.n_labelled), 0) AS mean_loss,
       1 - sum(s.n_errors) / nullif(sum(s.n_labelled), 0) AS token_accuracy,
       count(*) FILTER (WHERE s.n_errors > 0) AS n_sequences_with_errors,
       avg(s.posterior_softmin) AS mean_posterior_softmin
FROM complete_runs AS r
LEFT JOIN sequences AS s ON s.run_id = r.run_id
GROUP BY r.run_id, r.created_at, r.model, r.data_source, r.split;
