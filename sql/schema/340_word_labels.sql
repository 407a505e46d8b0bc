-- word_labels(p_run, p_labels := 'gold'): one row per sequence of a run with word-level lists
-- aligned to its words: gold (the source's labels), labels (version p_labels, gold where the
-- version leaves the sequence alone), preds (the prediction of each word's first subword, as
-- the book scores words; 'O' for a word the model never saw, e.g. past a truncation), losses
-- (cross-entropy of the version's label at that subword; NULL where unseen) and confidences
-- (the probability of the predicted label).
CREATE OR REPLACE MACRO word_labels(p_run, p_labels := 'gold') AS TABLE
WITH first_subwords AS (
    SELECT seq_id,
           map(list(word_index), list(pred)) AS preds,
           map(list(word_index), list(loss)) AS losses,
           map(list(word_index), list(list_max(probs))) AS confidences
    FROM token_labels(p_run, p_labels := p_labels)
    WHERE label IS NOT NULL
    GROUP BY seq_id
)
SELECT s.run_id, s.seq_id, s.seq_key, s.words, s.labels AS gold,
       coalesce(v.labels, s.labels) AS labels,
       [coalesce(f.preds[i::INTEGER], 'O') FOR i IN range(len(s.words))] AS preds,
       [f.losses[i::INTEGER] FOR i IN range(len(s.words))] AS losses,
       [f.confidences[i::INTEGER] FOR i IN range(len(s.words))] AS confidences
FROM sequences AS s
LEFT JOIN sequence_labels AS v ON v.run_id = s.run_id AND v.seq_id = s.seq_id AND v.version = p_labels
LEFT JOIN first_subwords AS f ON f.seq_id = s.seq_id
CROSS JOIN (SELECT known_version(p_run, p_labels) AS known) AS k  -- one row, or an error (sql/schema/116)
WHERE s.run_id = p_run AND s.run_id IN (SELECT run_id FROM complete_runs) AND k.known;
