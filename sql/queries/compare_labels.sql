-- compare_labels: per label, both runs' count, mean loss and accuracy and the change.
SELECT * FROM compare_labels($run_a, $run_b, p_labels := $labels);
