-- run_summary: one row per complete run, newest first.
SELECT run_id, created_at, model, data_source, split, language, n_sequences, n_labelled, n_errors,
       mean_loss, token_accuracy, n_sequences_with_errors, mean_posterior_softmin
FROM run_summary
ORDER BY created_at DESC, run_id DESC;
