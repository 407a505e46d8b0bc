-- 0005_corpus_quality (issue #14): label_quality changes meaning again, from threshold_min to
-- the new default ranking, corpus_min (sql/schema/176_corpus_quality.sql), which also weighs how
-- each word is labelled elsewhere in its run. The column is there since lossdb 0.1.0; its values
-- are recomputed per run from the stored token rows by this migration's Python step
-- (refresh_corpus_quality in lossdb/queries/db.py), since a macro takes one run at a time.
ALTER TABLE sequences ADD COLUMN IF NOT EXISTS label_quality DOUBLE;
