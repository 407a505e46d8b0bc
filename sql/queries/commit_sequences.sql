-- commit_sequences: copy a run's staged sequences into sequences, with the aggregates of
-- its token rows (total and mean loss, counts, max loss) and what the label-issue rankings
-- read (sql/schema/177_label_scores.sql), from the labelled tokens (each word's first subword):
-- softmin, cleanlab's token-classification sentence score (Wang & Mueller 2022), the soft-min
-- (softmin_weight, sql/schema/125) of each labelled token's self-confidence p(gold label) = exp(-loss);
-- margin_min and type_stats as word_label_stats computes them ($labels: the run's label names,
-- in probs order). label_quality, the default ranking's score, depends on the whole run and is
-- set once the run is in (refresh_label_quality).
INSERT INTO sequences BY NAME
WITH token_stats AS (
    SELECT seq_id,
           sum(loss::DOUBLE) AS total_loss,
           avg(loss::DOUBLE) FILTER (WHERE label_id >= 0) AS mean_loss,
           count(*) FILTER (WHERE label_id >= 0) AS n_labelled,
           count(*) FILTER (WHERE label_id >= 0 AND pred_id <> label_id) AS n_errors,
           max(loss) AS max_loss,
           sum(exp(-loss::DOUBLE) * softmin_weight(exp(-loss::DOUBLE))) FILTER (WHERE label_id >= 0)
             / sum(softmin_weight(exp(-loss::DOUBLE))) FILTER (WHERE label_id >= 0) AS softmin
    FROM read_parquet($tokens_path)
    GROUP BY seq_id
),
names AS (
    SELECT list_transform($labels::VARCHAR[], lambda l: label_type(l)) AS label_types,
           list_sort(list_distinct(list_transform($labels::VARCHAR[], lambda l: label_type(l)))) AS types
),
words AS (
    SELECT t.seq_id, n.label_types[t.label_id + 1] AS type,
           type_probs(t.probs, n.label_types, n.types) AS tp,
           list_position(n.types, n.label_types[t.label_id + 1]) AS yi
    FROM read_parquet($tokens_path) AS t
    CROSS JOIN names AS n
    WHERE t.label_id >= 0
),
scored AS (
    SELECT seq_id, type, tp[yi] AS p_type,
           (tp[yi] - coalesce(list_max(list_filter(tp, lambda p, i: i <> yi)), 0) + 1) / 2 AS margin
    FROM words
),
by_type AS (
    SELECT seq_id, type, count(*)::INTEGER AS n, sum(p_type) AS total, min(p_type) AS worst
    FROM scored GROUP BY seq_id, type
),
word_stats AS (
    SELECT b.seq_id, list({'type': b.type, 'n': b.n, 'sum': b.total, 'min': b.worst} ORDER BY b.type) AS type_stats,
           any_value(m.margin_min) AS margin_min
    FROM by_type AS b
    JOIN (SELECT seq_id, min(margin) AS margin_min FROM scored GROUP BY seq_id) AS m USING (seq_id)
    GROUP BY b.seq_id
)
SELECT $run AS run_id, s.seq_id, coalesce(s.source_id, s.words_hash) AS seq_key, s.source_id, s.words_hash,
       s.words, s.labels, s.n_tokens, s.n_windows, s.truncated,
       t.total_loss, t.mean_loss, t.n_labelled, t.n_errors, t.max_loss,
       s.label_codes, s.pred_codes, t.softmin, w.margin_min, w.type_stats
FROM read_parquet($sequences_path) AS s
JOIN token_stats AS t USING (seq_id)
LEFT JOIN word_stats AS w USING (seq_id)
ORDER BY s.seq_id;
