-- iob_type(tag): the entity type of a tag as seqeval's default mode reads it: the text after
-- the first '-' of tag[1:], or tag[1:] when it has none; '_' when that is empty
-- ('B-PER' -> 'PER', 'O' -> '_').
CREATE OR REPLACE MACRO iob_type(tag) AS coalesce(nullif(
    CASE WHEN strpos(substr(tag, 2), '-') > 0
         THEN substr(substr(tag, 2), strpos(substr(tag, 2), '-') + 1)
         ELSE substr(tag, 2) END, ''), '_');
