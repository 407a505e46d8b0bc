-- type_probs(probs, label_types, types): a token's class probabilities summed per entity type:
-- element i is the total probability of the labels whose type (label_types, aligned with probs)
-- is types[i]. The type-level rankings judge a word by these.
CREATE OR REPLACE MACRO type_probs(probs, label_types, types) AS
    list_transform(types, lambda ty: list_sum(list_filter(probs, lambda p, i: label_types[i] = ty))::DOUBLE);
