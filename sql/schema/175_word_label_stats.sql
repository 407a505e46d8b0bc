-- word_label_stats(p_run, p_labels := 'gold'): per sequence of a run, what the label-issue
-- rankings read, recomputed from the stored probabilities of each word's first subword (the
-- token that carries the word's label) under label version p_labels: n_labelled, min_self (the
-- worst self-confidence p(label): cleanlab's 'min'), softmin (cleanlab's soft-min of it at
-- temperature 0.05), margin_min (the worst type-level normalized margin, (p(type) - max p(other
-- type) + 1) / 2) and type_stats (per type of the words' labels: n, sum and min of the type-level
-- self-confidence). Under a version it holds only the sequences the version changes (the others'
-- are gold's, stored: label_scores reads them there). Ingest stores the same columns for gold
-- (sql/queries/commit_sequences.sql); the backfill reads this for every sequence.
CREATE OR REPLACE MACRO word_label_stats(p_run, p_labels := 'gold') AS TABLE
WITH names AS (
    SELECT label_names, list_transform(label_names, lambda l: label_type(l)) AS label_types,
           list_sort(list_distinct(list_transform(label_names, lambda l: label_type(l)))) AS types
    FROM complete_runs WHERE run_id = p_run
),
words AS (
    SELECT t.seq_id, label_type(t.label) AS type, t.loss::DOUBLE AS loss, exp(-t.loss::DOUBLE) AS p_self,
           type_probs(t.probs, n.label_types, n.types) AS tp, list_position(n.types, label_type(t.label)) AS yi
    FROM token_labels(p_run, p_labels := p_labels) AS t
    CROSS JOIN names AS n
    WHERE t.label IS NOT NULL
      AND (p_labels = 'gold'
           OR t.seq_id IN (SELECT seq_id FROM sequence_labels WHERE run_id = p_run AND version = p_labels))
),
scored AS (
    SELECT seq_id, type, loss, p_self, tp[yi] AS p_type,
           (tp[yi] - coalesce(list_max(list_filter(tp, lambda p, i: i <> yi)), 0) + 1) / 2 AS margin
    FROM words
),
by_type AS (
    SELECT seq_id, type, count(*)::INTEGER AS n, sum(p_type) AS total, min(p_type) AS worst
    FROM scored GROUP BY seq_id, type
),
types AS (
    SELECT seq_id, list({'type': type, 'n': n, 'sum': total, 'min': worst} ORDER BY type) AS type_stats
    FROM by_type GROUP BY seq_id
)
SELECT s.seq_id, count(*)::INTEGER AS n_labelled, sum(s.loss) AS total_loss, min(s.p_self) AS min_self,
       sum(s.p_self * softmin_weight(s.p_self)) / sum(softmin_weight(s.p_self)) AS softmin,  -- sql/schema/125
       min(s.margin) AS margin_min, any_value(t.type_stats) AS type_stats
FROM scored AS s
JOIN types AS t USING (seq_id)
GROUP BY s.seq_id
UNION ALL  -- no row; an error where run p_run lacks version p_labels, whose changed sequences are none
SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL WHERE NOT known_version(p_run, p_labels);  -- sql/schema/116
