-- entity_spans(p_run, p_labels := 'gold', p_mode := 'default'): the entities in a run's
-- word-level tags, one row per entity: run_id, seq_id, side ('gold': the labels of version
-- p_labels; 'pred': the model's), type, start_word, end_word (exclusive; the words are
-- list_slice(words, start_word + 1, end_word)).
-- p_mode 'default' decodes as seqeval's default mode (conlleval's chunk rules, which also
-- read entities from ill-formed tag runs such as O I-PER); 'strict' as seqeval's strict mode
-- with the IOB2 scheme (an entity is a B- tag and the I- tags of its type that follow it).
-- Each sequence is decoded on its own, as seqeval does when the sequences are separated by
-- an O tag. Two window passes over the word rows, no Python: it runs vectorised.
-- p_seq_ids (a list) decodes only those sequences, before the windows: the report's few.
CREATE OR REPLACE MACRO entity_spans(p_run, p_labels := 'gold', p_mode := 'default', p_seq_ids := NULL) AS TABLE
WITH tags AS (
    SELECT seq_id, word_index, unnest(['gold', 'pred']) AS side, unnest([label, pred]) AS tag
    FROM word_tags(p_run, p_labels := p_labels)
    WHERE p_seq_ids IS NULL OR seq_id IN (SELECT unnest(p_seq_ids::BIGINT[]))
),
parts AS (
    SELECT seq_id, side, word_index, iob_prefix(tag) AS prefix, iob_type(tag) AS type,
           iob_strict_type(tag) AS stype
    FROM tags
),
flags AS (
    SELECT seq_id, side, word_index, prefix, type, stype,
           -- default mode: a chunk starts here / the chunk of this word ends after it
           seqeval_chunk_start(coalesce(lag(prefix) OVER w, 'O'), prefix,
                               coalesce(lag(type) OVER w, '_'), type) AS d_start,
           seqeval_chunk_end(prefix, coalesce(lead(prefix) OVER w, 'O'),
                             type, coalesce(lead(type) OVER w, '_')) AS d_end,
           -- strict IOB2: this word continues the entity before it / the next word continues this one
           coalesce(prefix = 'I' AND lag(prefix) OVER w IN ('B', 'I') AND lag(stype) OVER w = stype, false) AS s_link,
           coalesce(lead(prefix) OVER w = 'I' AND prefix IN ('B', 'I') AND lead(stype) OVER w = stype, false) AS s_next_link
    FROM parts
    WINDOW w AS (PARTITION BY seq_id, side ORDER BY word_index)
),
marks AS (
    SELECT seq_id, side, word_index, type, stype, d_end, s_next_link,
           max(CASE WHEN d_start THEN word_index END) OVER v AS d_begin,
           max(CASE WHEN NOT s_link THEN word_index END) OVER v AS s_segment,
           max(CASE WHEN prefix = 'B' THEN word_index END) OVER v AS s_begin
    FROM flags
    WHERE CASE WHEN p_mode = 'strict' THEN NOT s_link OR NOT s_next_link ELSE d_start OR d_end END
    WINDOW v AS (PARTITION BY seq_id, side ORDER BY word_index ROWS UNBOUNDED PRECEDING)
)
SELECT p_run AS run_id, seq_id, side,
       CASE WHEN p_mode = 'strict' THEN stype ELSE type END AS type,
       CASE WHEN p_mode = 'strict' THEN s_begin ELSE coalesce(d_begin, 0) END AS start_word,
       word_index + 1 AS end_word
FROM marks
WHERE CASE WHEN p_mode = 'strict' THEN NOT s_next_link AND s_segment = s_begin ELSE d_end END;
