-- threshold_quality(type_stats, thresholds): the threshold_min label-issue score of a sequence
-- (lossdb.queries.rankings): each word's type-level self-confidence divided by
-- its type's confident-learning threshold (Northcutt et al. 2021: the mean self-confidence of
-- the words labelled with that type; `thresholds` maps type -> threshold), capped at 1; the
-- worst word of the sequence (type_stats holds each type's worst). Lower = more likely
-- mislabelled; NULL when no word is labelled. A threshold of 0 means every word of the type
-- has p = 0 (it is their mean): the model rules that label out everywhere, so its words score 0,
-- the most suspect, not the NaN of 0 / 0, which would sort as the least suspect of all.
CREATE OR REPLACE MACRO threshold_quality(type_stats, thresholds) AS
    least(1.0, list_min(list_transform(type_stats, lambda t: CASE WHEN thresholds[t."type"] = 0 THEN 0.0 ELSE t."min" / thresholds[t."type"] END)));
