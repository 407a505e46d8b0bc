-- scheme_inside(p_scheme, prev_prefix, prefix, same_type): whether, in strict mode with scheme
-- p_scheme (as tag_scheme spells it), a tag with `prefix` continues the entity of the tag
-- before it (arguments as scheme_start's). A copy of the inside patterns of
-- lossdb.queries.tags (seqeval.scheme); tests/test_tags.py checks every case.
CREATE OR REPLACE MACRO scheme_inside(p_scheme, prev_prefix, prefix, same_type) AS
    same_type AND CASE p_scheme
        WHEN 'IOB1' THEN prev_prefix IN ('B', 'I') AND prefix = 'I'
        WHEN 'IOE1' THEN prev_prefix = 'I' AND prefix IN ('I', 'E')
        WHEN 'IOB2' THEN prev_prefix IN ('B', 'I') AND prefix = 'I'
        WHEN 'IOE2' THEN prev_prefix = 'I' AND prefix IN ('I', 'E')
        WHEN 'IOBES' THEN prev_prefix IN ('B', 'I') AND prefix IN ('I', 'E')
        WHEN 'BILOU' THEN prev_prefix IN ('B', 'I') AND prefix IN ('I', 'L')
        ELSE false END;
