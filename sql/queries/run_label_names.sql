-- run_label_names: the label names of complete run $run, in probs index order.
SELECT label_names FROM complete_runs WHERE run_id = $run;
