-- meta_groups: the sequences of run $run (labels $labels) grouped by the value of metadata column
-- {column} of table {table} (NULL: no metadata), ranked by $by (mean total loss or mean loss per
-- labelled token highest first, mean label quality lowest first): counts, losses, errors.
WITH meta AS (
    SELECT DISTINCT seq_key, {column} AS value FROM {table}
),
scored AS (
    SELECT s.*, m.value
    FROM sequence_scores($run, p_labels := $labels) AS s
    LEFT JOIN meta AS m ON m.seq_key = s.seq_key
)
SELECT value AS {alias},
       count(*) AS n_sequences,
       avg(total_loss) AS mean_total_loss,
       sum(total_loss) / nullif(sum(n_labelled), 0) AS mean_loss,
       avg(label_quality) AS mean_label_quality,
       sum(n_errors)::BIGINT AS n_errors,
       sum(n_errors) / nullif(sum(n_labelled), 0) AS error_rate,
       count(*) FILTER (WHERE n_errors > 0) AS n_sequences_with_errors
FROM scored
GROUP BY value
ORDER BY ranking_score($by, avg(total_loss), sum(total_loss) / nullif(sum(n_labelled), 0), avg(label_quality))
             DESC NULLS LAST,
         value NULLS LAST;
