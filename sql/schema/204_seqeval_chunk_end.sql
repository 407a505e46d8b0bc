-- seqeval_chunk_end(prev_prefix, prefix, prev_type, type): true where seqeval's default mode
-- (conlleval's rules, end_of_chunk in seqeval.metrics.sequence_labeling) ends a chunk at the
-- previous tag. Prefixes and types as iob_prefix and iob_type return them.
CREATE OR REPLACE MACRO seqeval_chunk_end(prev_prefix, prefix, prev_type, type) AS
    prev_prefix IN ('E', 'S')
    OR (prev_prefix IN ('B', 'I') AND prefix IN ('B', 'S', 'O'))
    OR (prev_prefix NOT IN ('O', '.') AND prev_type <> type);
