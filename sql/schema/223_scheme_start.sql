-- scheme_start(p_scheme, prev_prefix, prefix, same_type): whether strict mode with scheme
-- p_scheme (as tag_scheme spells it) starts an entity at a tag with `prefix` after one with
-- `prev_prefix` (same_type: both tags have one type, as iob_strict_type reads it). A copy of
-- the start patterns of lossdb.queries.tags (seqeval.scheme); tests/test_tags.py checks every case.
CREATE OR REPLACE MACRO scheme_start(p_scheme, prev_prefix, prefix, same_type) AS
    CASE p_scheme
        WHEN 'IOB1' THEN (prev_prefix = 'O' AND prefix = 'I') OR (prev_prefix = 'I' AND prefix = 'I' AND NOT same_type)
                         OR (prev_prefix = 'B' AND prefix = 'I') OR (prev_prefix IN ('I', 'B') AND prefix = 'B' AND same_type)
        WHEN 'IOE1' THEN (prev_prefix = 'O' AND prefix = 'I') OR (prev_prefix = 'I' AND prefix = 'I' AND NOT same_type)
                         OR (prev_prefix = 'E' AND prefix = 'I') OR (prev_prefix = 'E' AND prefix = 'E' AND same_type)
        WHEN 'IOB2' THEN prev_prefix IN ('I', 'O', 'B', 'E', 'S', 'U', 'L') AND prefix = 'B'
        WHEN 'IOE2' THEN (prev_prefix IN ('O', 'E') AND prefix IN ('I', 'E'))
                         OR (prev_prefix = 'I' AND prefix IN ('I', 'E') AND NOT same_type)
        WHEN 'IOBES' THEN prev_prefix IN ('I', 'O', 'B', 'E', 'S', 'U', 'L') AND prefix IN ('B', 'S')
        WHEN 'BILOU' THEN prev_prefix IN ('I', 'O', 'B', 'E', 'S', 'U', 'L') AND prefix IN ('B', 'U')
        ELSE false END;
