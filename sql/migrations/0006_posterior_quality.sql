-- 0006_posterior_quality (issue #14): label_quality changes meaning once more, from corpus_min
-- to the new default ranking, posterior_softmin (sql/schema/176_posterior_quality.sql), which
-- real corrections (CoNLL++ against CoNLL-2003, bench/real_corrections.py) rank better. Its
-- values are recomputed per run from the stored token rows by this migration's Python step
-- (refresh_label_quality in lossdb/queries/db.py), since a macro takes one run at a time; that
-- step also does the work 0005's did, so 0005 no longer has one.
ALTER TABLE sequences ADD COLUMN IF NOT EXISTS label_quality DOUBLE;
