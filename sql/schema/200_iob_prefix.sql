-- iob_prefix(tag): the first character of an IOB-style tag ('B', 'I', 'O', 'E', 'S', ...),
-- the chunk tag seqeval reads from it.
CREATE OR REPLACE MACRO iob_prefix(tag) AS left(tag, 1);
