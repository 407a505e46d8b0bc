-- label_scores(p_run, p_labels := 'gold'): per sequence of a complete run, the score of every
-- label-issue ranking (lossdb.queries.rankings.METHODS), judged against label version p_labels,
-- from each word's first subword. Lower = more likely mislabelled, except total_loss (higher):
--   min              cleanlab: the worst word's self-confidence p(label)
--   softmin          cleanlab: its soft-min at temperature 0.05 (Wang & Mueller 2022)
--   type_min         the worst word's type-level self-confidence (B-X and I-X merged)
--   type_margin      the worst type-level normalized margin
--   posterior_softmin  cleanlab's soft-min of each word's probability that its label is
--                    right, by Bayes' rule under confident learning's noise estimate
--                    (posterior_quality, sql/schema/176), stored at commit
--   threshold_min    the worst type-level self-confidence over its type's confident-learning
--                    threshold (the mean over the run's words of that type), capped at 1
--                    (threshold_quality)
--   threshold_sidak  threshold_min corrected for the number of words
--   rank_mean        the mean of the sequence's percent ranks under posterior_softmin and
--                    under softmin, each over the run's sequences that have a score (Borda's
--                    count of the two): the default, stored at commit as label_quality
--   total_loss       the book's ranking
-- Gold, and every sequence a version leaves alone, read the aggregates stored at commit; the
-- sequences a version changes are recomputed (word_label_stats), and the thresholds are the
-- version's. posterior_softmin of a version is read from version_quality, where every
-- sequence's was stored when the version was written (a changed label changes the run's noise
-- estimate, which every word is judged by). rank_mean is computed here, not read: this is where
-- the stored label_quality comes from (refresh_label_quality, refresh_version_rank).
CREATE OR REPLACE MACRO label_scores(p_run, p_labels := 'gold') AS TABLE
WITH stored AS (
    SELECT seq_id, n_labelled, total_loss,
           CASE WHEN n_labelled > 0 THEN exp(-max_loss::DOUBLE) END AS min_self,
           softmin, margin_min, type_stats, posterior_softmin
    FROM sequences
    CROSS JOIN (SELECT known_version(p_run, p_labels) AS known) AS k  -- one row, or an error (sql/schema/116)
    WHERE run_id = p_run AND run_id IN (SELECT run_id FROM complete_runs) AND k.known
),
changed AS (
    -- one row per seq_id already; the GROUP BY is there because DuckDB 2.0.1 drops a LIMIT over
    -- a LEFT JOIN whose right side it proves empty, as this one is under gold (and `posterior`
    -- below; tests/test_schema_limits.py)
    SELECT seq_id, any_value(COLUMNS(* EXCLUDE (seq_id)))
    FROM word_label_stats(p_run, p_labels := p_labels) WHERE p_labels <> 'gold'
    GROUP BY seq_id
),
posterior AS (
    -- a version's default score, stored when the version was written (version_quality, whose
    -- key is run_id, version, seq_id)
    SELECT seq_id, any_value(posterior_softmin) AS posterior_softmin
    FROM version_quality WHERE run_id = p_run AND version = p_labels
    GROUP BY seq_id
),
merged AS (
    -- gold: the stored aggregates; a version: its changed sequences recomputed
    SELECT s.seq_id,
           CASE WHEN c.seq_id IS NULL THEN s.n_labelled ELSE c.n_labelled END AS n_labelled,
           CASE WHEN c.seq_id IS NULL THEN s.total_loss ELSE c.total_loss END AS total_loss,
           CASE WHEN c.seq_id IS NULL THEN s.min_self ELSE c.min_self END AS min_self,
           CASE WHEN c.seq_id IS NULL THEN s.softmin ELSE c.softmin END AS softmin,
           CASE WHEN c.seq_id IS NULL THEN s.margin_min ELSE c.margin_min END AS margin_min,
           CASE WHEN c.seq_id IS NULL THEN s.type_stats ELSE c.type_stats END AS type_stats,
           CASE WHEN p_labels = 'gold' THEN s.posterior_softmin ELSE q.posterior_softmin END AS posterior_softmin
    FROM stored AS s
    LEFT JOIN changed AS c USING (seq_id)
    LEFT JOIN posterior AS q USING (seq_id)
),
thresholds AS (
    SELECT map(list(type), list(threshold)) AS thresholds
    FROM (SELECT t."type" AS type, sum(t."sum") / sum(t.n) AS threshold
          FROM (SELECT unnest(type_stats) AS t FROM merged)
          GROUP BY t."type")
),
scored AS (
    SELECT m.*, threshold_quality(m.type_stats, th.thresholds) AS threshold_min
    FROM merged AS m
    CROSS JOIN thresholds AS th
),
all_scores AS (
SELECT seq_id, n_labelled,
       min_self AS "min",
       softmin,
       list_min(list_transform(type_stats, lambda t: t."min")) AS type_min,
       margin_min AS type_margin,
       posterior_softmin,
       threshold_min,
       -- Sidak: the chance that the least of n such scores is as low, 1 - (1 - s)^n; n * s
       -- below 1e-8, where 1 - s rounds to 1 in doubles
       CASE WHEN threshold_min < 1e-8 THEN n_labelled * threshold_min
            ELSE 1 - pow(1 - threshold_min, n_labelled) END AS threshold_sidak,
       total_loss
FROM scored
),
ranked AS (
    -- ranks among the scored sequences only (a sequence with no labelled word has none)
    SELECT *,
           rank() OVER (PARTITION BY posterior_softmin IS NULL ORDER BY posterior_softmin) - 1 AS r_posterior,
           count(*) OVER (PARTITION BY posterior_softmin IS NULL) - 1 AS n_posterior,
           rank() OVER (PARTITION BY softmin IS NULL ORDER BY softmin) - 1 AS r_softmin,
           count(*) OVER (PARTITION BY softmin IS NULL) - 1 AS n_softmin
    FROM all_scores
)
SELECT * EXCLUDE (r_posterior, n_posterior, r_softmin, n_softmin),
       -- the mean of the two percent ranks, r / n each (percent_rank's (rank - 1) / (rows - 1)),
       -- over one common denominator: the numerator is a whole number, so two sequences whose
       -- means tie get the same double and rank by seq_id, not by rounding
       CASE WHEN posterior_softmin IS NULL OR softmin IS NULL THEN NULL
            WHEN n_posterior = 0 OR n_softmin = 0 THEN 0.0
            ELSE (r_posterior * n_softmin + r_softmin * n_posterior)::DOUBLE / (2 * n_posterior * n_softmin)
       END AS rank_mean
FROM ranked;
