-- 0002_word_codes: sequences.label_codes / pred_codes, for stores written before them (a no-op
-- on newer ones). lossdb.queries.db fills them from the token rows after this file (its
-- Python step: the backfill reports how many sequences it filled).
ALTER TABLE sequences ADD COLUMN IF NOT EXISTS label_codes USMALLINT[];
ALTER TABLE sequences ADD COLUMN IF NOT EXISTS pred_codes USMALLINT[];
