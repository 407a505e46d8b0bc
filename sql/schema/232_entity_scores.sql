-- entity_scores(p_run, p_labels := 'gold', p_mode := 'default', p_scheme := 'IOB2'): entity-level precision, recall
-- and F1 as seqeval's classification_report computes them from a run's word-level tags
-- (entity_spans, mode p_mode, strict scheme p_scheme): one row per entity type found on either side (by name), then
-- 'micro avg', 'macro avg' and 'weighted avg'. support = gold entities, n_pred = predicted ones,
-- n_correct = exact matches (same type, same words). A ratio with a zero denominator is 0, as in
-- seqeval. The CLI and Python API compute the same table vectorised in lossdb.queries.entities.
CREATE OR REPLACE MACRO entity_scores(p_run, p_labels := 'gold', p_mode := 'default', p_scheme := 'IOB2') AS TABLE
WITH spans AS MATERIALIZED (
    SELECT * FROM entity_spans(p_run, p_labels := p_labels, p_mode := p_mode, p_scheme := p_scheme)
),
counts AS (
    SELECT type, count(*) FILTER (WHERE side = 'gold') AS support, count(*) FILTER (WHERE side = 'pred') AS n_pred
    FROM spans
    GROUP BY type
),
hits AS (
    SELECT g.type, count(*) AS n_correct
    FROM spans AS g
    JOIN spans AS p
      ON p.seq_id = g.seq_id AND p.start_word = g.start_word AND p.end_word = g.end_word AND p.type = g.type
    WHERE g.side = 'gold' AND p.side = 'pred'
    GROUP BY g.type
),
per_type AS (
    SELECT c.type, c.support, c.n_pred, coalesce(h.n_correct, 0) AS n_correct,
           coalesce(coalesce(h.n_correct, 0) / nullif(c.n_pred, 0), 0.0) AS precision,
           coalesce(coalesce(h.n_correct, 0) / nullif(c.support, 0), 0.0) AS recall
    FROM counts AS c
    LEFT JOIN hits AS h USING (type)
),
scored AS (
    SELECT *, coalesce(2 * precision * recall / nullif(precision + recall, 0), 0.0) AS f1
    FROM per_type
),
micro AS (
    SELECT coalesce(sum(n_correct) / nullif(sum(n_pred), 0), 0.0) AS precision,
           coalesce(sum(n_correct) / nullif(sum(support), 0), 0.0) AS recall,
           coalesce(sum(support), 0) AS support, coalesce(sum(n_pred), 0) AS n_pred,
           coalesce(sum(n_correct), 0) AS n_correct
    FROM scored
),
rows AS (
    SELECT 0 AS section, type, precision, recall, f1, support, n_pred, n_correct FROM scored
    UNION ALL
    SELECT 1, 'micro avg', precision, recall,
           coalesce(2 * precision * recall / nullif(precision + recall, 0), 0.0), support, n_pred, n_correct
    FROM micro
    UNION ALL
    SELECT 2, 'macro avg', avg(precision), avg(recall), avg(f1),  -- NULL with no type, as seqeval's NaN
           coalesce(sum(support), 0), coalesce(sum(n_pred), 0), coalesce(sum(n_correct), 0)
    FROM scored
    UNION ALL
    SELECT 3, 'weighted avg',
           coalesce(sum(precision * support) / nullif(sum(support), 0), 0.0),
           coalesce(sum(recall * support) / nullif(sum(support), 0), 0.0),
           coalesce(sum(f1 * support) / nullif(sum(support), 0), 0.0),
           coalesce(sum(support), 0), coalesce(sum(n_pred), 0), coalesce(sum(n_correct), 0)
    FROM scored
)
SELECT type, precision, recall, f1, support::BIGINT AS support, n_pred::BIGINT AS n_pred,
       n_correct::BIGINT AS n_correct
FROM rows
ORDER BY section, type;
