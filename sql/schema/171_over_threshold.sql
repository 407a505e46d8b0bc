-- over_threshold(p, threshold): a word's self-confidence p relative to its type's
-- confident-learning threshold, as threshold_min and corpus_min judge it. A threshold of 0 means
-- every word of the type has p = 0 (the threshold is their mean): the model rules that label out
-- everywhere, so the word is as suspect as can be (0), not the NaN that 0 / 0 gives, which
-- would sort as the least suspect of all.
CREATE OR REPLACE MACRO over_threshold(p, threshold) AS
    CASE WHEN threshold = 0 THEN 0.0 ELSE p / threshold END;
