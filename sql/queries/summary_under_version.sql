-- summary_under_version: run_summary's token figures for run $run judged against label version
-- $labels (sequence_scores recomputes the sequences the version changes), and the mean of the
-- posterior_softmin stored for it (version_quality).
SELECT coalesce(sum(n_labelled), 0)::BIGINT AS n_labelled,
       coalesce(sum(n_errors), 0)::BIGINT AS n_errors,
       sum(total_loss) / nullif(sum(n_labelled), 0) AS mean_loss,
       1 - sum(n_errors) / nullif(sum(n_labelled), 0) AS token_accuracy,
       count(*) FILTER (WHERE n_errors > 0) AS n_sequences_with_errors,
       (SELECT avg(posterior_softmin) FROM version_quality
        WHERE run_id = $run AND version = $labels) AS mean_posterior_softmin
FROM sequence_scores($run, p_labels := $labels);
