-- loss_by_label(p_run, p_labels := 'gold'): per label (of version p_labels) over a run's
-- labelled tokens: count, mean and sum of the loss, highest mean first (the book's table), and
-- accuracy, the share of those tokens the model predicts as that label.
CREATE OR REPLACE MACRO loss_by_label(p_run, p_labels := 'gold') AS TABLE
SELECT label, count(*) AS count, avg(loss::DOUBLE) AS mean, sum(loss::DOUBLE) AS sum,
       avg(CASE WHEN pred = label THEN 1.0 ELSE 0.0 END) AS accuracy
FROM token_labels(p_run, p_labels := p_labels)
WHERE label IS NOT NULL
GROUP BY label
ORDER BY mean DESC, label;
