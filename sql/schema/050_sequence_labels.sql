-- sequence_labels: the word labels of one sequence under one label version. Only
-- sequences whose labels differ from gold are stored; the rest fall back to gold.
CREATE TABLE IF NOT EXISTS sequence_labels (
    run_id   VARCHAR NOT NULL,
    version  VARCHAR NOT NULL,
    seq_id   BIGINT NOT NULL,
    labels   VARCHAR[] NOT NULL
);
