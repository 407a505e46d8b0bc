-- threshold_quality(type_stats, thresholds, n): the default label-issue score of a sequence
-- (threshold_sidak in lossdb.queries.rankings). Each word's type-level self-confidence divided
-- by its type's confident-learning threshold (Northcutt et al. 2021: the mean self-confidence
-- of the words labelled with that type; `thresholds` maps type -> threshold), capped at 1; the
-- worst word s of the sequence, corrected for the number of words judged, n (Sidak: the chance
-- that the least of n such scores is as low, 1 - (1 - s)^n; n*s below 1e-8, where 1 - s rounds
-- to 1 in doubles). Lower = more likely mislabelled; NULL when no word is labelled.
CREATE OR REPLACE MACRO threshold_quality(type_stats, thresholds, n) AS (
    SELECT CASE WHEN tq_worst < 1e-8 THEN n * tq_worst ELSE 1 - pow(1 - tq_worst, n) END
    FROM (SELECT least(1.0, list_min(list_transform(type_stats, lambda t: t."min" / thresholds[t."type"]))) AS tq_worst)
);
