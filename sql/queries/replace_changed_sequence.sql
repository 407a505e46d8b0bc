-- replace_changed_sequence: the first sequence of the replaced run (lossdb_replaced_sequences) that the
-- new rows of run $run lack, or hold with other words or other gold labels; no row when all match.
SELECT old.seq_id, new.seq_id IS NULL AS missing, new.words_hash IS DISTINCT FROM old.words_hash AS other_words
FROM lossdb_replaced_sequences AS old
LEFT JOIN sequences AS new ON new.run_id = $run AND new.seq_id = old.seq_id
WHERE new.seq_id IS NULL OR new.words_hash <> old.words_hash OR new.labels <> old.labels
ORDER BY old.seq_id
LIMIT 1;
