-- entity_tag_codes(p_run, p_labels := 'gold'): what an entity decoder needs, one row per
-- sequence of a run: seq_id, label_codes (the word-level labels of version p_labels) and
-- pred_codes, as stored in sequences: 1-based positions in the run's label_names, 0 where a
-- word was not scored. A label version's label outside the run's label_names is NULL.
-- lossdb.queries.entities decodes these with the rules of entity_spans, vectorised in numpy:
-- a million sequences' tags are two small integer lists each, where a window sort of every
-- word row is tens of seconds.
CREATE OR REPLACE MACRO entity_tag_codes(p_run, p_labels := 'gold') AS TABLE
SELECT s.seq_id, s.label_codes, s.pred_codes
FROM sequences AS s
WHERE s.run_id = p_run AND p_labels = 'gold'
  AND EXISTS (SELECT 1 FROM complete_runs WHERE run_id = p_run)
UNION ALL
SELECT s.seq_id,
       CASE WHEN v.labels IS NULL THEN s.label_codes
            ELSE list_transform(v.labels, lambda label: list_position(r.label_names, label))::USMALLINT[] END,
       s.pred_codes
FROM sequences AS s
JOIN complete_runs AS r ON r.run_id = s.run_id
LEFT JOIN sequence_labels AS v
       ON v.run_id = s.run_id AND v.seq_id = s.seq_id AND v.version = p_labels
CROSS JOIN (SELECT known_version(p_run, p_labels) AS known) AS k  -- one row, or an error (sql/schema/116)
WHERE s.run_id = p_run AND p_labels <> 'gold' AND k.known;
