-- sequence_scores under label version $labels of run $run: the top 3 by total loss.
SELECT * FROM sequence_scores($run, p_labels := $labels) ORDER BY total_loss DESC LIMIT 3;
