-- confusion: the confusion matrix of run $run (labels $labels) in long form, label-name order.
SELECT label, pred, count, fraction
FROM confusion($run, p_labels := $labels)
ORDER BY label_index, pred_index;
