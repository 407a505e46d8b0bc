-- label_scores under label version $labels of run $run: every sequence's scores.
SELECT count(*) FROM label_scores($run, p_labels := $labels);
