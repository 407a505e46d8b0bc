-- compare_sequences(p_run_a, p_run_b, p_labels := 'gold'): the sequences two runs share (paired
-- by compare_pairs: the source's id, else the words), with each run's total_loss, mean_loss, n_errors and
-- label_quality and the change from a to b (delta_* = b - a), largest absolute change of total
-- loss first: what a second checkpoint or model fixed and what it broke.
CREATE OR REPLACE MACRO compare_sequences(p_run_a, p_run_b, p_labels := 'gold') AS TABLE
WITH a AS (SELECT * FROM sequence_scores(p_run_a, p_labels := p_labels)),
     b AS (SELECT * FROM sequence_scores(p_run_b, p_labels := p_labels))
SELECT p.seq_key, p.seq_id_a, p.seq_id_b,
       a.total_loss AS total_loss_a, b.total_loss AS total_loss_b, b.total_loss - a.total_loss AS delta_total_loss,
       a.mean_loss AS mean_loss_a, b.mean_loss AS mean_loss_b, b.mean_loss - a.mean_loss AS delta_mean_loss,
       a.n_errors AS n_errors_a, b.n_errors AS n_errors_b, b.n_errors - a.n_errors AS delta_n_errors,
       a.label_quality AS label_quality_a, b.label_quality AS label_quality_b,
       b.label_quality - a.label_quality AS delta_label_quality
FROM compare_pairs(p_run_a, p_run_b) AS p
JOIN a ON a.seq_id = p.seq_id_a
JOIN b ON b.seq_id = p.seq_id_b
ORDER BY abs(b.total_loss - a.total_loss) DESC, p.seq_id_a;
