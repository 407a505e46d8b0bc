-- sequence_spans: the entities of the sequences $seq_ids of run $run under label version $labels
-- (side 'gold') and as predicted (side 'pred'), as entity_spans decodes them (seqeval's default
-- mode): seq_id, side, type, start_word, end_word.
SELECT seq_id, side, type, start_word, end_word
FROM entity_spans($run, p_labels := $labels, p_seq_ids := $seq_ids::BIGINT[])
ORDER BY seq_id, side, start_word;
