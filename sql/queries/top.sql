-- top: the $n worst sequences of run $run, ranked by $by, with their ordered token rows.
SELECT rank, run_id, seq_id, total_loss, mean_loss, label_quality, tokens, labels, preds, losses
FROM top_sequence_rows($n, p_run := $run, p_by := $by)
ORDER BY rank;
