-- posterior_quality(p_run, p_labels := 'gold'): per sequence of run p_run, the score of the
-- label-issue ranking posterior_softmin (lossdb.queries.rankings; the default, rank_mean, ranks
-- by it and by softmin), against label version p_labels: cleanlab's soft-min (softmin_weight, sql/schema/125) over its labelled words
-- (first subwords) of the probability that the word's label is right, by Bayes' rule under
-- class-conditional noise (Northcutt et al. 2021, confident learning). With p the model's type-level probabilities (type_probs: B-X and I-X merged) as the
-- chance of each true type, and T[j][i] the chance that a word of true type j is labelled i,
--     P(label i right) = T[i][i] * p[i] / sum_j T[j][i] * p[j].
-- T comes from confident learning's confident joint C[i][j]: the run's words labelled i whose
-- confidently predicted type is j (the type of highest probability among those at or above their
-- type's threshold, the mean probability of the type over the words labelled with it; words
-- confident of no type are not counted). T[j][i] = C[i][j] / sum_i C[i][j], one pseudo-count in
-- every cell (Laplace), so a type no word is confident of gets a uniform column, not a 0 / 0.
-- So a label of a kind annotators rarely get wrong (an entity where the model is confident of
-- O: C[entity][O] is small) stays credible where the model disagrees, and one they often get
-- wrong is not. Lower = more likely mislabelled; NULL when no word is labelled.
-- Reads the tables only (no view), so a migration can use it; a version's labels apply where
-- the token is labelled, as in token_labels (sql/schema/170).
CREATE OR REPLACE MACRO posterior_quality(p_run, p_labels := 'gold') AS TABLE
WITH names AS (
    SELECT list_transform(label_names, lambda l: label_type(l)) AS label_types,
           list_sort(list_distinct(list_transform(label_names, lambda l: label_type(l)))) AS types
    FROM runs
    CROSS JOIN (SELECT known_version(p_run, p_labels) AS known) AS k  -- one row, or an error (sql/schema/116)
    WHERE run_id = p_run AND k.known
),
words AS (
    SELECT t.seq_id, t.word_index,
           list_position(n.types, label_type(CASE WHEN v.labels IS NULL THEN t.label
                                                  ELSE v.labels[t.word_index + 1] END)) AS yi,
           type_probs(t.probs, n.label_types, n.types) AS tp
    FROM tokens AS t
    -- GROUP BY over the key (run_id, version, seq_id): DuckDB 2.0.1 drops a LIMIT over a LEFT
    -- JOIN whose right side it proves empty, as this one is under gold (tests/test_schema_limits.py)
    LEFT JOIN (SELECT seq_id, any_value(labels) AS labels FROM sequence_labels
               WHERE run_id = p_run AND version = p_labels GROUP BY seq_id) AS v ON v.seq_id = t.seq_id
    CROSS JOIN names AS n
    WHERE t.run_id = p_run AND t.label IS NOT NULL
),
thresholds AS (
    -- per type, in types order: the mean probability of the type over the words labelled with it
    -- (2.0, which no probability reaches, for a type no word carries; as cleanlab does)
    SELECT list_transform(n.types, lambda ty, j: coalesce(m[j], 2.0)) AS t
    FROM (SELECT map(list(yi ORDER BY yi), list(mean ORDER BY yi)) AS m
          FROM (SELECT yi, avg(tp[yi] ORDER BY seq_id, word_index) AS mean FROM words GROUP BY yi)) AS a
    CROSS JOIN names AS n
),
confident AS (
    -- each word's confidently predicted type: the likeliest of the types at or above threshold
    SELECT w.yi, list_position(c, list_max(c)) AS yj
    FROM (SELECT w.yi, list_transform(w.tp, lambda p, j: CASE WHEN p >= th.t[j] THEN p ELSE -1.0 END) AS c
          FROM words AS w CROSS JOIN thresholds AS th) AS w
    WHERE list_max(c) >= 0
),
joint AS (
    -- C[i][j] + 1 as one list per given type i (rows) over true types j
    SELECT list_transform(n.types, lambda ti, i: list_transform(n.types, lambda tj, j:
               1 + coalesce(h[[i, j]], 0))) AS c
    FROM (SELECT histogram([yi, yj]) AS h FROM confident) AS counts
    CROSS JOIN names AS n
),
noise AS (
    -- r[i][j] = T[j][i], the chance that a word of true type j is labelled i
    SELECT list_transform(c, lambda row: list_transform(row, lambda cij, j:
               cij / list_sum(list_transform(c, lambda r: r[j])))) AS r
    FROM joint
),
scored AS (
    SELECT w.seq_id, w.word_index, w.tp[w.yi] * nz.r[w.yi][w.yi]
               / list_sum(list_transform(w.tp, lambda p, j: p * nz.r[w.yi][j])) AS p_right
    FROM words AS w CROSS JOIN noise AS nz
)
-- summed in word order: the same rows always give the same bits
SELECT seq_id, sum(p_right * softmin_weight(p_right) ORDER BY word_index)
               / sum(softmin_weight(p_right) ORDER BY word_index) AS posterior_softmin
FROM scored
GROUP BY seq_id;
