-- label_scores: every label-issue ranking's score of every sequence of run $run, judged against
-- label version $labels (sql/schema/177_label_scores.sql), in seq_id order.
SELECT * FROM label_scores($run, p_labels := $labels) ORDER BY seq_id;
