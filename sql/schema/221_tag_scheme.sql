-- tag_scheme(p_scheme): a strict-mode scheme's name as lossdb.queries.tags.SCHEMES spells it
-- (upper case; 'BIOES' is 'IOBES'); an error for any other name.
CREATE OR REPLACE MACRO tag_scheme(p_scheme) AS
    CASE WHEN upper(p_scheme) = 'BIOES' THEN 'IOBES'
         WHEN upper(p_scheme) IN ('IOB1', 'IOB2', 'IOE1', 'IOE2', 'IOBES', 'BILOU') THEN upper(p_scheme)
         ELSE error('unknown tag scheme ' || coalesce(p_scheme, 'NULL')
                    || '; choose one of IOB1, IOB2, IOE1, IOE2, IOBES, BILOU (BIOES is IOBES)') END;
