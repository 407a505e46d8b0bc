-- class_thresholds(p_run, p_labels := 'gold'): per label of a run (label-name order), confident
-- learning's per-class threshold t_k (Northcutt et al. 2021; cleanlab's
-- get_confident_thresholds): the mean self-confidence p(k) of the run's labelled tokens given
-- label k under version p_labels, with n, their count. A label no token carries gets 2.0, which
-- no probability reaches (cleanlab does the same), so it is never the confident class.
CREATE OR REPLACE MACRO class_thresholds(p_run, p_labels := 'gold') AS TABLE
WITH names AS (
    SELECT label, label_index FROM run_labels(p_run)
),
means AS (
    SELECT label, avg(exp(-loss::DOUBLE)) AS threshold, count(*) AS n
    FROM token_labels(p_run, p_labels := p_labels)
    WHERE label IS NOT NULL
    GROUP BY label
)
SELECT n.label, n.label_index, coalesce(m.threshold, 2.0) AS threshold, coalesce(m.n, 0) AS n
FROM names AS n
LEFT JOIN means AS m USING (label)
ORDER BY n.label_index;
