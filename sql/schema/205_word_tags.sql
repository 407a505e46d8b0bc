-- word_tags(p_run, p_labels := 'gold'): one row per scored word of a run, from the row of its
-- first subword (the one that carries the word's label, as in the book): seq_id, word_index,
-- position, token, the word's label under label version p_labels, the model's pred and loss.
-- These are the word-level tags the book hands to seqeval.
CREATE OR REPLACE MACRO word_tags(p_run, p_labels := 'gold') AS TABLE
SELECT run_id, seq_id, word_index, position, token, label, pred, loss
FROM token_labels(p_run, p_labels := p_labels)
WHERE label IS NOT NULL;
