-- scheme_end(p_scheme, prefix, next_prefix, same_type): whether, in strict mode with scheme
-- p_scheme (as tag_scheme spells it), an entity whose last tag has `prefix` ends well before a
-- tag with `next_prefix` (else it is no entity; same_type as in scheme_start). A copy of the
-- end patterns of lossdb.queries.tags (seqeval.scheme); tests/test_tags.py checks every case.
CREATE OR REPLACE MACRO scheme_end(p_scheme, prefix, next_prefix, same_type) AS
    CASE p_scheme
        WHEN 'IOB1' THEN (prefix = 'I' AND next_prefix = 'I' AND NOT same_type) OR (prefix = 'I' AND next_prefix IN ('O', 'B'))
                         OR (prefix = 'B' AND next_prefix = 'O') OR (prefix = 'B' AND next_prefix = 'I' AND NOT same_type)
                         OR (prefix = 'B' AND next_prefix = 'B' AND same_type)
        WHEN 'IOE1' THEN (prefix = 'I' AND next_prefix IN ('I', 'E') AND NOT same_type) OR (prefix = 'I' AND next_prefix = 'O')
                         OR (prefix = 'E' AND next_prefix IN ('I', 'E') AND same_type)
        WHEN 'IOB2' THEN (prefix IN ('I', 'B') AND next_prefix IN ('O', 'B')) OR (prefix IN ('I', 'B') AND next_prefix = 'I' AND NOT same_type)
        WHEN 'IOE2' THEN prefix = 'E' AND next_prefix IN ('I', 'O', 'B', 'E', 'S', 'U', 'L')
        WHEN 'IOBES' THEN prefix IN ('S', 'E') AND next_prefix IN ('I', 'O', 'B', 'E', 'S', 'U', 'L')
        WHEN 'BILOU' THEN prefix IN ('U', 'L') AND next_prefix IN ('I', 'O', 'B', 'E', 'S', 'U', 'L')
        ELSE false END;
