-- 0007_version_quality (issue #14): the default label-issue score (label_quality) of every
-- sequence of a run under each of its label versions, stored when the version is written
-- (import-labels, merge, a commit that keeps a replaced run's versions) so that queries under a
-- version read it, as gold's is read from sequences.label_quality. It depends on the whole run
-- (a version's labels change the run's noise estimate, which every word is judged by), so
-- computing it at query time cost a pass over every token row of the run. Filled for the
-- versions an older store holds by this migration's Python step (refresh_label_quality in
-- lossdb/queries/db.py, which 0006 registers; it runs again here, now with the table there).
CREATE TABLE IF NOT EXISTS version_quality (
    run_id         VARCHAR NOT NULL,
    version        VARCHAR NOT NULL,
    seq_id         BIGINT NOT NULL,
    label_quality  DOUBLE           -- posterior_softmin under the version; NULL: no labelled word
);
