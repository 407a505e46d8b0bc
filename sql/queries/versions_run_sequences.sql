-- versions_run_sequences: every sequence of run $run with the keys an import matches on
-- (seq_id, seq_key, words_hash), its words and its gold labels.
SELECT seq_id, seq_key, words_hash, words, labels FROM sequences WHERE run_id = $run ORDER BY seq_id;
