-- sequence_scores of run $run under gold: the top 3 by total loss (the baseline).
SELECT * FROM sequence_scores($run) ORDER BY total_loss DESC LIMIT 3;
