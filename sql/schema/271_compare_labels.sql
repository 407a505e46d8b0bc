-- compare_labels(p_run_a, p_run_b, p_labels := 'gold'): per label, each run's token count, mean
-- loss and accuracy (loss_by_label) and the change from a to b (delta_* = b - a), in the order
-- of run a's label names then any label only b has.
CREATE OR REPLACE MACRO compare_labels(p_run_a, p_run_b, p_labels := 'gold') AS TABLE
WITH a AS (SELECT * FROM loss_by_label(p_run_a, p_labels := p_labels)),
     b AS (SELECT * FROM loss_by_label(p_run_b, p_labels := p_labels)),
     names AS (SELECT label, label_index AS i FROM run_labels(p_run_a))
SELECT coalesce(a.label, b.label) AS label,
       a.count AS count_a, b.count AS count_b,
       a.mean AS mean_loss_a, b.mean AS mean_loss_b, b.mean - a.mean AS delta_mean_loss,
       a.accuracy AS accuracy_a, b.accuracy AS accuracy_b, b.accuracy - a.accuracy AS delta_accuracy
FROM a
FULL JOIN b ON b.label = a.label
LEFT JOIN names AS n ON n.label = coalesce(a.label, b.label)
ORDER BY n.i NULLS LAST, label;
