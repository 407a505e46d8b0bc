-- entity_tag_codes: the word-level tag codes of run $run (labels $labels), one row per
-- sequence, for the vectorised entity decoder (which restores seq_id order if needed).
SELECT seq_id, label_codes, pred_codes
FROM entity_tag_codes($run, p_labels := $labels);
