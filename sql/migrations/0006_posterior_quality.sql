-- 0006_posterior_quality (issue #14): label_quality changes meaning once more, from corpus_min
-- to the new default ranking, posterior_softmin (sql/schema/176_posterior_quality.sql), which
-- real corrections (CoNLL++ against CoNLL-2003, bench/real_corrections.py) rank better; and the
-- table version_quality keeps the same score of every sequence under each label version, since
-- a version's labels change the run's noise estimate, which every word is judged by (stored when
-- the version is written: import-labels, merge, a commit that keeps a replaced run's versions).
-- Both are filled per run from the stored token rows by this migration's Python step
-- (score_runs in lossdb/queries/db.py), since a macro takes one run at a time; that step also
-- does the work 0005's did, so 0005 no longer has one.
ALTER TABLE sequences ADD COLUMN IF NOT EXISTS label_quality DOUBLE;
CREATE TABLE IF NOT EXISTS version_quality (
    run_id         VARCHAR NOT NULL,
    version        VARCHAR NOT NULL,
    seq_id         BIGINT NOT NULL,
    label_quality  DOUBLE           -- posterior_softmin under the version; NULL: no labelled word
);
