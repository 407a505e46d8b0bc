-- 0001_tables: the tables of a store as lossdb 0.1.0 wrote them. Every statement is safe on a
-- store that already has them (a store written before migrations were recorded).

-- lossdb_meta: facts about the store itself; 'schema' holds a fingerprint of the sql/schema
-- files (comments aside) that made its views and macros, so a reader can tell whether they
-- are this lossdb's.
CREATE TABLE IF NOT EXISTS lossdb_meta (
    key    VARCHAR NOT NULL,
    value  VARCHAR
);

-- runs: one row per ingest. Only rows with status = 'complete' are seen by the views.
CREATE TABLE IF NOT EXISTS runs (
    run_id          VARCHAR NOT NULL,      -- the --run name, or a generated one
    created_at      TIMESTAMPTZ NOT NULL,
    finished_at     TIMESTAMPTZ,
    status          VARCHAR NOT NULL,      -- 'complete' once every row of the run is written
    model           VARCHAR NOT NULL,      -- path or hub id as given
    model_revision  VARCHAR,               -- hub commit hash, or a content hash of a local model
    data_source     VARCHAR NOT NULL,
    split           VARCHAR,
    label_names     VARCHAR[] NOT NULL,    -- the model's id2label, in id order (index of probs)
    n_sequences     BIGINT,
    n_tokens        BIGINT,
    n_windowed      BIGINT,                -- sequences longer than the model, scored in windows
    n_truncated     BIGINT,                -- sequences cut at the model's maximum length
    params          JSON,                  -- batch size, device, dtype, max length, stride, shard
    lossdb_version  VARCHAR NOT NULL
);

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
    pred_codes     USMALLINT[]
);

-- tokens: one row per token the model saw, special tokens included.
CREATE TABLE IF NOT EXISTS tokens (
    run_id      VARCHAR NOT NULL,
    seq_id      BIGINT NOT NULL,
    position    INTEGER NOT NULL,   -- 0-based, in the tokenizer's order
    token       VARCHAR NOT NULL,   -- as the tokenizer prints it, e.g. '▁Juli' or '##li'
    token_id    INTEGER NOT NULL,
    word_index  INTEGER,            -- NULL for special tokens
    label       VARCHAR,            -- gold label; NULL where ignored (special tokens, later subwords)
    pred        VARCHAR NOT NULL,   -- argmax of probs
    loss        FLOAT NOT NULL,     -- cross-entropy of the gold label; 0 where ignored, as the book does
    probs       FLOAT[] NOT NULL    -- every class probability, in runs.label_names order
);

-- label_versions: named sets of corrected word labels for a run ('gold' is the source's own
-- labels, stored in sequences.labels and never listed here).
CREATE TABLE IF NOT EXISTS label_versions (
    run_id      VARCHAR NOT NULL,
    version     VARCHAR NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    source      VARCHAR,               -- the file it was imported from
    n_changed   BIGINT                 -- sequences whose labels differ from gold
);

-- sequence_labels: the word labels of one sequence under one label version. Only
-- sequences whose labels differ from gold are stored; the rest fall back to gold.
CREATE TABLE IF NOT EXISTS sequence_labels (
    run_id   VARCHAR NOT NULL,
    version  VARCHAR NOT NULL,
    seq_id   BIGINT NOT NULL,
    labels   VARCHAR[] NOT NULL
);

-- annotations: one row per metadata table loaded by `lossdb annotate`: its name (the table,
-- with a seq_key column and the file's columns), the file, the key column, how keys matched
-- sequences ('id', 'text' or 'seq_id'), row counts, and when.
CREATE TABLE IF NOT EXISTS annotations (
    name        VARCHAR NOT NULL,
    source      VARCHAR NOT NULL,
    key_column  VARCHAR NOT NULL,
    match_by    VARCHAR NOT NULL,
    n_rows      BIGINT NOT NULL,
    n_matched   BIGINT NOT NULL,    -- rows whose key matched a sequence of a complete run
    created_at  TIMESTAMPTZ NOT NULL
);
