-- entity_errors(p_run, p_labels := 'gold', p_mode := 'default', p_scheme := 'IOB2'): the
-- entity-level outcome of every gold entity of a run, and every predicted entity that overlaps
-- no gold one, from its word-level tags (entity_spans, mode p_mode, strict scheme p_scheme).
-- category is one of
--   correct                  a prediction with the same words and the same type
--   wrong_type               a prediction with the same words and another type
--   wrong_boundary           no exact match, but an overlapping prediction of the same type
--   wrong_type_and_boundary  only overlapping predictions of other types
--   missed                   no overlapping prediction (a gold entity with no prediction)
--   spurious                 a predicted entity that overlaps no gold entity (gold_* NULL)
-- pred_* is the prediction that decided it: the exact one, else the first (by start, then end) overlapping one of the
-- same type, else the first overlapping one (NULL when missed). Spans as in entity_spans. The
-- CLI and Python API compute the same rows vectorised in lossdb.queries.entities.
CREATE OR REPLACE MACRO entity_errors(p_run, p_labels := 'gold', p_mode := 'default', p_scheme := 'IOB2') AS TABLE
WITH spans AS MATERIALIZED (
    SELECT * FROM entity_spans(p_run, p_labels := p_labels, p_mode := p_mode, p_scheme := p_scheme)
),
gold AS (SELECT seq_id, type, start_word, end_word FROM spans WHERE side = 'gold'),
pred AS (SELECT seq_id, type, start_word, end_word FROM spans WHERE side = 'pred'),
pairs AS (
    SELECT g.seq_id, g.type AS gold_type, g.start_word AS gold_start, g.end_word AS gold_end,
           p.type AS pred_type, p.start_word AS pred_start, p.end_word AS pred_end,
           CASE WHEN p.start_word = g.start_word AND p.end_word = g.end_word
                THEN CASE WHEN p.type = g.type THEN 1 ELSE 2 END
                WHEN p.type = g.type THEN 3
                ELSE 4 END AS severity
    FROM gold AS g
    JOIN pred AS p ON p.seq_id = g.seq_id AND p.start_word < g.end_word AND g.start_word < p.end_word
),
best AS (
    SELECT *
    FROM pairs
    QUALIFY row_number() OVER (PARTITION BY seq_id, gold_start, gold_end, gold_type ORDER BY severity, pred_start, pred_end) = 1
)
SELECT p_run AS run_id, g.seq_id,
       CASE b.severity WHEN 1 THEN 'correct' WHEN 2 THEN 'wrong_type' WHEN 3 THEN 'wrong_boundary'
                       WHEN 4 THEN 'wrong_type_and_boundary' ELSE 'missed' END AS category,
       g.type AS gold_type, g.start_word AS gold_start, g.end_word AS gold_end,
       b.pred_type, b.pred_start, b.pred_end
FROM gold AS g
LEFT JOIN best AS b
       ON b.seq_id = g.seq_id AND b.gold_start = g.start_word AND b.gold_end = g.end_word AND b.gold_type = g.type
UNION ALL
SELECT p_run, p.seq_id, 'spurious', NULL, NULL, NULL, p.type, p.start_word, p.end_word
FROM pred AS p
WHERE NOT EXISTS (
    SELECT 1 FROM gold AS g WHERE g.seq_id = p.seq_id AND g.start_word < p.end_word AND p.start_word < g.end_word
);
