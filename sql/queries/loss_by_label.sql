-- loss_by_label: count, mean and sum of the loss and accuracy per label of run $run (labels
-- $labels), highest mean first.
SELECT label, count, mean, sum, accuracy
FROM loss_by_label($run, p_labels := $labels)
ORDER BY mean DESC, label;
