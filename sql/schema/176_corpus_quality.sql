-- corpus_quality(p_run, p_labels := 'gold'): per sequence of run p_run, the score of the default
-- label-issue ranking, corpus_min (lossdb.queries.rankings), judged against label version
-- p_labels. Each labelled word (its first subword) has the model's type-level probabilities
-- (type_probs: B-X and I-X merged). They are combined with what the rest of the run says about
-- the same word: how its other occurrences are labelled, leave-one-out, with one pseudo-count
-- spread over the types in proportion to their share of the run's words (a Dirichlet prior at
-- the base rates). Two independent opinions that share that prior combine as p(type) *
-- q(type) / prior(type), so each type's probability is multiplied by
--     1 + (other occurrences of the word labelled with it) / (its share of the run's words)
-- and renormalized; a word seen once keeps the model's probabilities. p_strength is the prior's
-- weight in pseudo-counts (the factor is p_strength + others / share); lossdb uses 1, and
-- bench/corpus_prior.py measures others. The word's score is the
-- combined probability of its label's type over that type's confident-learning threshold (the
-- mean of the same over the run's words of the type), capped at 1; the sequence's is its worst
-- word's. Lower = more likely mislabelled; NULL when no word is labelled.
-- Reads the tables only (no view), so a migration can use it; a version's labels apply where
-- the token is labelled, as in token_labels (sql/schema/170).
CREATE OR REPLACE MACRO corpus_quality(p_run, p_labels := 'gold', p_strength := 1.0) AS TABLE
WITH names AS (
    SELECT list_transform(label_names, lambda l: label_type(l)) AS label_types,
           list_sort(list_distinct(list_transform(label_names, lambda l: label_type(l)))) AS types
    FROM runs WHERE run_id = p_run
),
words AS (
    SELECT t.seq_id, t.word_index, s.words[t.word_index + 1] AS word,
           list_position(n.types, label_type(CASE WHEN v.labels IS NULL THEN t.label
                                                  ELSE v.labels[t.word_index + 1] END)) AS yi,
           type_probs(t.probs, n.label_types, n.types) AS tp
    FROM tokens AS t
    JOIN sequences AS s ON s.run_id = t.run_id AND s.seq_id = t.seq_id
    LEFT JOIN sequence_labels AS v ON v.run_id = t.run_id AND v.seq_id = t.seq_id AND v.version = p_labels
    CROSS JOIN names AS n
    WHERE t.run_id = p_run AND t.label IS NOT NULL
),
shares AS (
    -- each type's share of the run's labelled words, in types order (0 for an unused type)
    SELECT list_transform(n.types, lambda ty, i: coalesce(h[i], 0) / total) AS share
    FROM (SELECT histogram(yi) AS h, count(*)::DOUBLE AS total FROM words) AS c
    CROSS JOIN names AS n
),
word_counts AS (
    SELECT word, histogram(yi) AS counts FROM words GROUP BY word
),
combined AS (
    SELECT w.seq_id, w.word_index, w.yi,
           list_transform(w.tp, lambda p, i: CASE WHEN sh.share[i] = 0 THEN p * p_strength ELSE
               p * (p_strength + (coalesce(c.counts[i], 0) - CASE WHEN i = w.yi THEN 1 ELSE 0 END) / sh.share[i]) END) AS wp
    FROM words AS w
    JOIN word_counts AS c USING (word)
    CROSS JOIN shares AS sh
),
scored AS (
    SELECT seq_id, word_index, yi, wp[yi] / list_sum(wp) AS p_label FROM combined
),
thresholds AS (
    -- summed in one fixed order: the same rows always give the same bits (a parallel sum need not)
    SELECT yi, avg(p_label ORDER BY seq_id, word_index) AS threshold FROM scored GROUP BY yi
)
SELECT s.seq_id, least(1.0, min(over_threshold(s.p_label, th.threshold))) AS corpus_min
FROM scored AS s
JOIN thresholds AS th USING (yi)
GROUP BY s.seq_id;
