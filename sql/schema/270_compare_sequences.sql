-- compare_sequences(p_run_a, p_run_b, p_labels := 'gold'): the sequences two runs share (same
-- seq_key: the source's id, else the hash of the words; the k-th copy of a repeated sentence in
-- one run pairs with the k-th in the other), with each run's total_loss, mean_loss, n_errors and
-- label_quality and the change from a to b (delta_* = b - a), largest absolute change of total
-- loss first: what a second checkpoint or model fixed and what it broke.
CREATE OR REPLACE MACRO compare_sequences(p_run_a, p_run_b, p_labels := 'gold') AS TABLE
WITH a AS (
    SELECT *, row_number() OVER (PARTITION BY seq_key ORDER BY seq_id) AS copy
    FROM sequence_scores(p_run_a, p_labels := p_labels)
),
b AS (
    SELECT *, row_number() OVER (PARTITION BY seq_key ORDER BY seq_id) AS copy
    FROM sequence_scores(p_run_b, p_labels := p_labels)
)
SELECT a.seq_key, a.seq_id AS seq_id_a, b.seq_id AS seq_id_b,
       a.total_loss AS total_loss_a, b.total_loss AS total_loss_b, b.total_loss - a.total_loss AS delta_total_loss,
       a.mean_loss AS mean_loss_a, b.mean_loss AS mean_loss_b, b.mean_loss - a.mean_loss AS delta_mean_loss,
       a.n_errors AS n_errors_a, b.n_errors AS n_errors_b, b.n_errors - a.n_errors AS delta_n_errors,
       a.label_quality AS label_quality_a, b.label_quality AS label_quality_b,
       b.label_quality - a.label_quality AS delta_label_quality
FROM a
JOIN b ON b.seq_key = a.seq_key AND b.copy = a.copy
ORDER BY abs(b.total_loss - a.total_loss) DESC, a.seq_id;
