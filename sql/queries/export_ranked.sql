-- export_ranked: the seq_ids of the $n worst sequences of run $run against label version
-- $labels, ranked by $by (label_quality: most likely mislabelled first).
SELECT seq_id FROM top_label_sequences($n, $run, p_labels := $labels, p_by := $by) ORDER BY rank;
