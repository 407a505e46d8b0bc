-- search_hits(p_run, p_labels := 'gold', p_token := NULL, p_word := NULL, p_label := NULL,
-- p_pred := NULL, p_errors := false): the token rows of a run that match every condition given
-- (NULL = any): the token as the tokenizer prints it (e.g. '▁('), the word it belongs to, its
-- label under version p_labels, its prediction, and with p_errors only labelled tokens predicted
-- wrong. One row per matching token: seq_id, position, word_index, token, label, pred, loss.
-- Words compare in Unicode normal form C on both sides (the stored words are left as they
-- are): 'Müller' typed with U+00FC finds it stored as u + U+0308, and the other way round.
CREATE OR REPLACE MACRO search_hits(p_run, p_labels := 'gold', p_token := NULL, p_word := NULL,
                                    p_label := NULL, p_pred := NULL, p_errors := false) AS TABLE
WITH hits AS (
    SELECT seq_id, position, word_index, token, label, pred, loss
    FROM token_labels(p_run, p_labels := p_labels)
    WHERE (p_token IS NULL OR token = p_token)
      AND (p_label IS NULL OR label = p_label)
      AND (p_pred IS NULL OR pred = p_pred)
      AND (NOT p_errors OR (label IS NOT NULL AND label <> pred))
      AND (p_word IS NULL OR word_index IS NOT NULL)
)
SELECT * FROM hits WHERE p_word IS NULL
UNION ALL
SELECT h.*
FROM hits AS h
JOIN (SELECT seq_id, words FROM sequences
      WHERE run_id = p_run AND list_contains(list_transform(words, lambda w: nfc_normalize(w)), nfc_normalize(p_word))) AS s
  ON s.seq_id = h.seq_id
WHERE p_word IS NOT NULL AND nfc_normalize(s.words[h.word_index + 1]) = nfc_normalize(p_word);
