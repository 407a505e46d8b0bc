-- backfill_word_codes: fill sequences.label_codes / pred_codes where they are missing (a store
-- written before they existed) from the token rows, as ingest writes them: per word, the
-- 1-based position in the run's label_names of the label and prediction of the token that
-- carries the word's label (the first, should there be more); 0 where no token does.
UPDATE sequences AS s
SET label_codes = c.label_codes, pred_codes = c.pred_codes
FROM (
    WITH missing AS (
        SELECT run_id, seq_id, words FROM sequences WHERE label_codes IS NULL OR pred_codes IS NULL
    ),
    labelled_words AS (
        SELECT t.run_id, t.seq_id, t.word_index,
               arg_min(list_position(r.label_names, t.label), t.position) AS label_code,
               arg_min(list_position(r.label_names, t.pred), t.position) AS pred_code
        FROM tokens AS t
        JOIN runs AS r ON r.run_id = t.run_id
        SEMI JOIN missing AS m ON m.run_id = t.run_id AND m.seq_id = t.seq_id
        WHERE t.label IS NOT NULL
        GROUP BY t.run_id, t.seq_id, t.word_index
    ),
    labelled AS (
        SELECT run_id, seq_id,
               map_from_entries(list({'k': word_index, 'v': label_code})) AS label_at,
               map_from_entries(list({'k': word_index, 'v': pred_code})) AS pred_at
        FROM labelled_words
        GROUP BY run_id, seq_id
    )
    SELECT m.run_id, m.seq_id,
           list_transform(range(len(m.words)), lambda i: coalesce(l.label_at[i], 0))::USMALLINT[] AS label_codes,
           list_transform(range(len(m.words)), lambda i: coalesce(l.pred_at[i], 0))::USMALLINT[] AS pred_codes
    FROM missing AS m
    LEFT JOIN labelled AS l ON l.run_id = m.run_id AND l.seq_id = m.seq_id
) AS c
WHERE s.run_id = c.run_id AND s.seq_id = c.seq_id;
