-- data_language(source): the language a run's data source names, lower case, when it follows a
-- known pattern ('hf:google/xtreme:PAN-X.de', '.../panx-de/validation.conllu',
-- 'hf:wikiann:de', 'hf:unimelb-nlp/wikiann:fr'); NULL otherwise.
CREATE OR REPLACE MACRO data_language(source) AS lower(coalesce(
    nullif(regexp_extract(source, '(?i)pan-?x[._-]([a-z]{2,3})([^a-z]|$)', 1), ''),
    nullif(regexp_extract(source, '(?i)wikiann[/:._-]([a-z]{2,3})([^a-z]|$)', 1), '')));
