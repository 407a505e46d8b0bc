-- sequences: one row per dataset row of a run, with its per-sequence aggregates.
CREATE TABLE IF NOT EXISTS sequences (
    run_id         VARCHAR NOT NULL,
    seq_id         BIGINT NOT NULL,        -- the row's index in the source
    seq_key        VARCHAR NOT NULL,       -- stable across runs and models: source_id, else words_hash
    source_id      VARCHAR,                -- the source's id column, where it has one
    words_hash     VARCHAR NOT NULL,       -- md5 of the words joined by U+001F
    words          VARCHAR[] NOT NULL,
    labels         VARCHAR[] NOT NULL,     -- word-level gold labels
    n_tokens       INTEGER NOT NULL,       -- token rows, special tokens included
    n_windows      INTEGER NOT NULL,       -- 1 unless the sequence was longer than the model
    truncated      BOOLEAN NOT NULL,       -- words past the model's maximum length were not scored
    -- Aggregates of the run's token rows, computed by SQL when the run is committed
    -- (sql/queries/commit_sequences.sql) so that `top` never scans every token.
    total_loss     DOUBLE NOT NULL,
    mean_loss      DOUBLE,                 -- over labelled tokens; NULL when none
    n_labelled     INTEGER NOT NULL,
    n_errors       INTEGER NOT NULL,       -- labelled tokens whose pred differs from the label
    max_loss       FLOAT NOT NULL,
    label_quality  DOUBLE,                 -- soft-min of token self-confidence (cleanlab); low = suspect
    -- The word-level tags the book hands to seqeval, as small integers: per word, the 1-based
    -- position in runs.label_names of its gold label and of the prediction for its first
    -- subword; 0 where the word was not scored (past a truncation, or its label ignored).
    -- The entity decoder reads these instead of scanning every token row.
    label_codes    USMALLINT[],
    pred_codes     USMALLINT[],
    -- What the label-issue rankings read (sql/schema/176_label_scores.sql), from each word's first
    -- subword, computed at commit: label_quality above is the default ranking's score; softmin is
    -- cleanlab's soft-min of self-confidence; margin_min the worst type-level normalized margin;
    -- type_stats, per entity type of the word labels (B-X and I-X merged, O on its own), the count,
    -- sum and minimum of the words' type-level self-confidence.
    softmin        DOUBLE,
    margin_min     DOUBLE,
    type_stats     STRUCT("type" VARCHAR, n INTEGER, "sum" DOUBLE, "min" DOUBLE)[]
);
-- Stores written before the tag codes get the columns here; lossdb.queries.db.apply_schema
-- fills them from the token rows (sql/queries/backfill_word_codes.sql).
ALTER TABLE sequences ADD COLUMN IF NOT EXISTS label_codes USMALLINT[];
ALTER TABLE sequences ADD COLUMN IF NOT EXISTS pred_codes USMALLINT[];
-- Stores written before the rankings get the columns here; sql/migrations/PENDING_rankings.sql fills them.
ALTER TABLE sequences ADD COLUMN IF NOT EXISTS softmin DOUBLE;
ALTER TABLE sequences ADD COLUMN IF NOT EXISTS margin_min DOUBLE;
ALTER TABLE sequences ADD COLUMN IF NOT EXISTS type_stats STRUCT("type" VARCHAR, n INTEGER, "sum" DOUBLE, "min" DOUBLE)[];
