-- entity_tag_codes: the word-level tag codes of run $run (labels $labels), one row per
-- sequence, for the vectorised entity decoder (lossdb.queries.entities), which streams them
-- in batches; no result depends on the order the sequences come in.
SELECT seq_id, label_codes, pred_codes
FROM entity_tag_codes($run, p_labels := $labels);
