-- sequence_losses: per sequence of every complete run, total_loss (sum over its tokens),
-- mean_loss, token / labelled / error counts, max token loss and label quality.
CREATE OR REPLACE VIEW sequence_losses AS
SELECT s.run_id, s.seq_id, s.seq_key, s.source_id, s.total_loss, s.mean_loss,
       s.n_tokens, s.n_labelled, s.n_errors, s.max_loss, s.label_quality,
       s.n_windows, s.truncated
FROM sequences AS s
WHERE s.run_id IN (SELECT run_id FROM complete_runs);
