-- label_versions: named sets of corrected word labels for a run ('gold' is the source's own
-- labels, stored in sequences.labels and never listed here).
CREATE TABLE IF NOT EXISTS label_versions (
    run_id      VARCHAR NOT NULL,
    version     VARCHAR NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    source      VARCHAR,               -- the file it was imported from
    n_changed   BIGINT                 -- sequences whose labels differ from gold
);
