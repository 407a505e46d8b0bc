-- entity_spans(p_run, p_labels := 'gold', p_mode := 'default', p_scheme := 'IOB2'): the
-- entities in a run's word-level tags, one row per entity: run_id, seq_id, side ('gold': the
-- labels of version p_labels; 'pred': the model's), type, start_word, end_word (exclusive; the
-- words are list_slice(words, start_word + 1, end_word)).
-- p_mode 'default' decodes as seqeval's default mode (conlleval's chunk rules, which also
-- read entities from ill-formed tag runs such as O I-PER); 'strict' as seqeval's strict mode
-- with scheme p_scheme (IOB1, IOB2, IOE1, IOE2, IOBES or BIOES, BILOU; a tag the scheme does
-- not allow is an error). The rules are lossdb.queries.tags' (the tag grammar), which
-- tests/test_tags.py checks this macro against.
-- Each sequence is decoded on its own, as seqeval does when the sequences are separated by
-- an O tag. Window passes over the word rows, no Python: it runs vectorised.
-- p_seq_ids (a list) decodes only those sequences, before the windows: the report's few.
CREATE OR REPLACE MACRO entity_spans(p_run, p_labels := 'gold', p_mode := 'default', p_seq_ids := NULL,
                                     p_scheme := 'IOB2') AS TABLE
WITH tags AS (
    SELECT seq_id, word_index, unnest(['gold', 'pred']) AS side, unnest([label, pred]) AS tag
    FROM word_tags(p_run, p_labels := p_labels)
    WHERE p_seq_ids IS NULL OR seq_id IN (SELECT unnest(p_seq_ids::BIGINT[]))
),
parts AS (
    SELECT seq_id, side, word_index, iob_prefix(tag) AS prefix, iob_type(tag) AS type,
           iob_strict_type(tag) AS stype
    FROM tags
    -- strict mode refuses a tag outside the scheme, as seqeval does
    WHERE p_mode <> 'strict' OR scheme_allows(tag_scheme(p_scheme), iob_prefix(tag))
       OR error('strict mode with the ' || tag_scheme(p_scheme) || ' scheme does not read the tag '''
                || tag || '''; decode in the default mode, or name the scheme these tags follow')
),
flags AS (
    SELECT seq_id, side, word_index, prefix, type, stype,
           -- default mode: a chunk starts here / the chunk of this word ends after it
           seqeval_chunk_start(coalesce(lag(prefix) OVER w, 'O'), prefix,
                               coalesce(lag(type) OVER w, '_'), type) AS d_start,
           seqeval_chunk_end(prefix, coalesce(lead(prefix) OVER w, 'O'),
                             type, coalesce(lead(type) OVER w, '_')) AS d_end,
           -- strict mode: the scheme starts an entity here / this word continues the one before /
           -- the next word continues this one / an entity whose last word this is ends well
           scheme_start(tag_scheme(p_scheme), coalesce(lag(prefix) OVER w, 'O'), prefix,
                        coalesce(lag(stype) OVER w, '_') = stype) AS s_start,
           scheme_inside(tag_scheme(p_scheme), coalesce(lag(prefix) OVER w, 'O'), prefix,
                         coalesce(lag(stype) OVER w, '_') = stype) AS s_link,
           scheme_inside(tag_scheme(p_scheme), prefix, coalesce(lead(prefix) OVER w, 'O'),
                         stype = coalesce(lead(stype) OVER w, '_')) AS s_next_link,
           scheme_end(tag_scheme(p_scheme), prefix, coalesce(lead(prefix) OVER w, 'O'),
                      stype = coalesce(lead(stype) OVER w, '_')) AS s_end
    FROM parts
    WINDOW w AS (PARTITION BY seq_id, side ORDER BY word_index)
),
marks AS (
    -- strict mode follows seqeval's scan a segment at a time: a segment is a word the one
    -- before does not continue, and the words that continue it; an entity starts at the first
    -- word of a segment where the scheme starts one and runs to the segment's last word.
    SELECT seq_id, side, word_index, type, stype, d_end, s_start, s_next_link, s_end,
           max(CASE WHEN d_start THEN word_index END) OVER v AS d_begin,
           max(CASE WHEN NOT s_link THEN word_index END) OVER v AS s_segment,
           max(CASE WHEN s_start THEN word_index END)
               OVER (PARTITION BY seq_id, side ORDER BY word_index ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
               AS s_earlier_start
    FROM flags
    WHERE CASE WHEN p_mode = 'strict' THEN s_start OR NOT s_link OR NOT s_next_link ELSE d_start OR d_end END
    WINDOW v AS (PARTITION BY seq_id, side ORDER BY word_index ROWS UNBOUNDED PRECEDING)
),
begins AS (
    SELECT *,
           max(CASE WHEN s_start AND coalesce(s_earlier_start < s_segment, true) THEN word_index END)
               OVER (PARTITION BY seq_id, side ORDER BY word_index ROWS UNBOUNDED PRECEDING) AS s_begin
    FROM marks
)
SELECT p_run AS run_id, seq_id, side,
       CASE WHEN p_mode = 'strict' THEN stype ELSE type END AS type,
       CASE WHEN p_mode = 'strict' THEN s_begin ELSE coalesce(d_begin, 0) END AS start_word,
       word_index + 1 AS end_word
FROM begins
WHERE CASE WHEN p_mode = 'strict' THEN NOT s_next_link AND s_end AND s_begin >= s_segment ELSE d_end END;
