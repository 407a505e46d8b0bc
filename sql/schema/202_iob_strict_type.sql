-- iob_strict_type(tag): the entity type of a tag as seqeval's strict mode reads it: tag[1:]
-- with '-' stripped from both ends, '_' when empty ('B-PER' -> 'PER', 'O' -> '_').
CREATE OR REPLACE MACRO iob_strict_type(tag) AS coalesce(nullif(trim(substr(tag, 2), '-'), ''), '_');
