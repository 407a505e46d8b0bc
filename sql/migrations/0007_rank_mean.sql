-- 0007_rank_mean (issue #14): label_quality changes meaning once more, from posterior_softmin to
-- rank_mean (the mean of each sequence's percent ranks under posterior_softmin and softmin,
-- sql/schema/177_label_scores.sql), which ranked real corrections at least as well out-of-fold
-- and better held out and on both synthetic benchmarks (BENCHMARKS.md). rank_mean is computed
-- from posterior_softmin, so that score gets a column of its own, in sequences and, per label
-- version, in version_quality. Both are filled per run from the stored token rows by this
-- migration's Python step (score_runs in lossdb/queries/db.py), which moves here from 0006: it
-- now reads these columns.
ALTER TABLE sequences ADD COLUMN IF NOT EXISTS posterior_softmin DOUBLE;
ALTER TABLE version_quality ADD COLUMN IF NOT EXISTS posterior_softmin DOUBLE;
