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
