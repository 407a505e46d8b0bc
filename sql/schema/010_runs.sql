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
    lossdb_version  VARCHAR NOT NULL,
    group_name      VARCHAR,               -- runs of one group (e.g. one per training epoch) cover the same sequences
    step            BIGINT                 -- the run's place in its group: epoch or training step, ascending
);
-- Stores written before run groups get the columns here (also sql/migrations/PENDING_groups.sql).
ALTER TABLE runs ADD COLUMN IF NOT EXISTS group_name VARCHAR;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS step BIGINT;
