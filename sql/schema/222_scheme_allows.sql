-- scheme_allows(p_scheme, prefix): whether strict mode with scheme p_scheme (as tag_scheme
-- spells it) allows a tag with this prefix (iob_prefix); seqeval refuses the others. A copy
-- of lossdb.queries.tags.Scheme.allows; tests/test_tags.py checks every prefix.
CREATE OR REPLACE MACRO scheme_allows(p_scheme, prefix) AS
    CASE p_scheme
        WHEN 'IOB1' THEN prefix IN ('I', 'O', 'B')
        WHEN 'IOB2' THEN prefix IN ('I', 'O', 'B')
        WHEN 'IOE1' THEN prefix IN ('I', 'O', 'E')
        WHEN 'IOE2' THEN prefix IN ('I', 'O', 'E')
        WHEN 'IOBES' THEN prefix IN ('I', 'O', 'B', 'E', 'S')
        WHEN 'BILOU' THEN prefix IN ('B', 'I', 'L', 'O', 'U')
        ELSE false END;
