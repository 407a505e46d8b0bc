-- 0004_rankings (issue #14): fill what the label-issue rankings
-- read in a store written before them, for every run, from the stored token rows (no
-- re-scoring). Needs the schema's macros label_type, type_probs and threshold_quality
-- (sql/schema/172-174) and the columns 020_sequences.sql adds (repeated here, so it also runs
-- first). Safe to re-run: every value is recomputed from the tokens. label_quality changes
-- meaning: it was cleanlab's soft-min (now the softmin column); it becomes the default
-- ranking's score (threshold_min), with each run's confident-learning thresholds.
ALTER TABLE sequences ADD COLUMN IF NOT EXISTS softmin DOUBLE;
ALTER TABLE sequences ADD COLUMN IF NOT EXISTS margin_min DOUBLE;
ALTER TABLE sequences ADD COLUMN IF NOT EXISTS type_stats STRUCT("type" VARCHAR, n INTEGER, "sum" DOUBLE, "min" DOUBLE)[];

UPDATE sequences AS s
SET softmin = w.softmin, margin_min = w.margin_min, type_stats = w.type_stats
FROM (
    WITH names AS (
        SELECT run_id, list_transform(label_names, lambda l: label_type(l)) AS label_types,
               list_sort(list_distinct(list_transform(label_names, lambda l: label_type(l)))) AS types
        FROM runs
    ),
    words AS (
        SELECT t.run_id, t.seq_id, label_type(t.label) AS type, exp(-t.loss::DOUBLE) AS p_self,
               type_probs(t.probs, n.label_types, n.types) AS tp,
               list_position(n.types, label_type(t.label)) AS yi
        FROM tokens AS t
        JOIN names AS n USING (run_id)
        WHERE t.label IS NOT NULL
    ),
    scored AS (
        SELECT run_id, seq_id, type, p_self, tp[yi] AS p_type,
               (tp[yi] - coalesce(list_max(list_filter(tp, lambda p, i: i <> yi)), 0) + 1) / 2 AS margin
        FROM words
    ),
    by_type AS (
        SELECT run_id, seq_id, type, count(*)::INTEGER AS n, sum(p_type) AS total, min(p_type) AS worst
        FROM scored GROUP BY run_id, seq_id, type
    ),
    types AS (
        SELECT run_id, seq_id, list({'type': type, 'n': n, 'sum': total, 'min': worst} ORDER BY type) AS type_stats
        FROM by_type GROUP BY run_id, seq_id
    )
    SELECT s.run_id, s.seq_id,
           sum(s.p_self * exp((1 - s.p_self) / 0.05)) / sum(exp((1 - s.p_self) / 0.05)) AS softmin,
           min(s.margin) AS margin_min, any_value(t.type_stats) AS type_stats
    FROM scored AS s
    JOIN types AS t USING (run_id, seq_id)
    GROUP BY s.run_id, s.seq_id
) AS w
WHERE s.run_id = w.run_id AND s.seq_id = w.seq_id;

UPDATE sequences AS s
SET label_quality = threshold_quality(s.type_stats, th.thresholds)
FROM (
    SELECT run_id, map(list(type), list(threshold)) AS thresholds
    FROM (SELECT run_id, t."type" AS type, sum(t."sum") / sum(t.n) AS threshold
          FROM (SELECT run_id, unnest(type_stats) AS t FROM sequences)
          GROUP BY run_id, t."type")
    GROUP BY run_id
) AS th
WHERE s.run_id = th.run_id;
