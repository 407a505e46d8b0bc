-- label_type(tag): the entity type a tag belongs to, for the type-level label-issue rankings
-- (B-X and I-X of one type merged, so a B/I prefix confusion is not a type error): the text
-- after the first '-' ('B-PER' -> 'PER', 'S-LOC' -> 'LOC'), or the whole tag when it has none
-- ('O' -> 'O').
CREATE OR REPLACE MACRO label_type(tag) AS
    CASE WHEN strpos(tag, '-') > 0 THEN substr(tag, strpos(tag, '-') + 1) ELSE tag END;
