-- versions_top: the $n worst sequences of run $run judged against label version $labels,
-- ranked by $by, with their ordered token rows (labels and losses from that version).
SELECT rank, run_id, seq_id, total_loss, mean_loss, label_quality, tokens, labels, preds, losses
FROM top_label_sequence_rows($n, $run, p_labels := $labels, p_by := $by)
ORDER BY rank;
