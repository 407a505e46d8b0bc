-- softmin_weight(s): the weight of a token with self-confidence s (p of its given label) in
-- cleanlab's soft-min sentence score for token classification (Wang & Mueller 2022,
-- cleanlab.token_classification.rank._softmin_sentence_score): exp((1 - s) / t) at cleanlab's
-- temperature t = 0.05. softmin = sum(s * softmin_weight(s)) / sum(softmin_weight(s)) over
-- the labelled tokens; the one place the temperature is written: ingest (commit_sequences) and
-- the label-version scores (word_label_stats) both use this.
CREATE OR REPLACE MACRO softmin_weight(s) AS exp((1 - s) / 0.05);
