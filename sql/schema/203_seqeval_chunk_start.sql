-- seqeval_chunk_start(prev_prefix, prefix, prev_type, type): true where seqeval's default mode
-- (conlleval's rules, start_of_chunk in seqeval.metrics.sequence_labeling) starts a chunk at
-- the current tag. Prefixes and types as iob_prefix and iob_type return them.
CREATE OR REPLACE MACRO seqeval_chunk_start(prev_prefix, prefix, prev_type, type) AS
    prefix IN ('B', 'S')
    OR (prev_prefix IN ('E', 'S', 'O') AND prefix IN ('E', 'I'))
    OR (prefix NOT IN ('O', '.') AND prev_type <> type);
