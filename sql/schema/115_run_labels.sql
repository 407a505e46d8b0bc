-- run_labels(p_run): a complete run's label names, one row each in label_names order:
-- label, label_index (1-based, the position list_position gives and the codes use).
CREATE OR REPLACE MACRO run_labels(p_run) AS TABLE
SELECT unnest(label_names) AS label, generate_subscripts(label_names, 1) AS label_index
FROM complete_runs
WHERE run_id = p_run;
