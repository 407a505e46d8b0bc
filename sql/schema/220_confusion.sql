-- confusion(p_run, p_labels := 'gold'): the confusion matrix of a run's labelled tokens in long
-- form, one row per (label, pred) pair of the run's label names (0 where a pair never occurs),
-- in label-name order: count, and fraction = count / the label's count (the row-normalised
-- matrix the book plots; 0 for a label no token carries, as scikit-learn gives).
CREATE OR REPLACE MACRO confusion(p_run, p_labels := 'gold') AS TABLE
WITH names AS (
    SELECT label AS name, label_index AS i FROM run_labels(p_run)
),
counts AS (
    SELECT label, pred, count(*) AS n
    FROM token_labels(p_run, p_labels := p_labels)
    WHERE label IS NOT NULL
    GROUP BY label, pred
),
cells AS (
    SELECT g.name AS label, p.name AS pred, g.i AS label_index, p.i AS pred_index, coalesce(c.n, 0) AS count
    FROM names AS g
    CROSS JOIN names AS p
    LEFT JOIN counts AS c ON c.label = g.name AND c.pred = p.name
)
SELECT label, pred, count,
       coalesce(count / nullif(sum(count) OVER (PARTITION BY label), 0), 0.0) AS fraction,
       label_index, pred_index
FROM cells
ORDER BY label_index, pred_index;
