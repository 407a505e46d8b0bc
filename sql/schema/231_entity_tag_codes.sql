-- entity_tag_codes(p_run, p_labels := 'gold'): the word rows an entity decoder needs, as small
-- integers: seq_id, word_index, label_code and pred_code (1-based positions in the run's
-- label_names). Words tagged 'O' on both sides are left out: they only separate entities, and
-- a gap in word_index stands for them. lossdb.queries.entities decodes these rows with the
-- rules of entity_spans, vectorised in numpy (a window sort of every word is too slow on a
-- million sequences).
CREATE OR REPLACE MACRO entity_tag_codes(p_run, p_labels := 'gold') AS TABLE
WITH names AS (
    SELECT label_names FROM complete_runs WHERE run_id = p_run
)
SELECT w.seq_id, w.word_index,
       list_position(n.label_names, w.label)::USMALLINT AS label_code,
       list_position(n.label_names, w.pred)::USMALLINT AS pred_code
FROM word_tags(p_run, p_labels := p_labels) AS w
CROSS JOIN names AS n  -- one row: a cross join, twice as fast as joining on run_id
WHERE w.label <> 'O' OR w.pred <> 'O';
