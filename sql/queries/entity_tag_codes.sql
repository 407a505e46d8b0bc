-- entity_tag_codes: the word rows of run $run (labels $labels) not tagged O on both sides, as
-- label-name codes, for the vectorised entity decoder (order is restored in numpy).
SELECT seq_id, word_index, coalesce(label_code, 0) AS label_code, coalesce(pred_code, 0) AS pred_code
FROM entity_tag_codes($run, p_labels := $labels);
