-- replace_precheck: before run $run is scored again (its label versions kept), the first of its
-- sequences that the data about to be scored (lossdb_incoming: seq_id, seq_key, words_hash,
-- labels, registered by the ingest) lacks, or holds with other words or other gold labels: what
-- replace_changed_sequence would find after the scoring. No row when all match.
SELECT old.seq_id, new.seq_id IS NULL AS missing, new.words_hash IS DISTINCT FROM old.words_hash AS other_words
FROM sequences AS old
LEFT JOIN lossdb_incoming AS new ON new.seq_id = old.seq_id
WHERE old.run_id = $run AND (new.seq_id IS NULL OR new.words_hash <> old.words_hash OR new.labels <> old.labels)
ORDER BY old.seq_id
LIMIT 1;
