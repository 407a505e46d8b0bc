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
