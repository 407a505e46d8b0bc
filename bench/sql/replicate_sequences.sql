-- replicate_sequences: copy $copy of run $run's sequences, keys made unique per copy.
INSERT INTO sequences BY NAME
SELECT * REPLACE ($target AS run_id, seq_id + $copy * $stride AS seq_id,
                  seq_key || '#' || $copy AS seq_key, words_hash || '#' || $copy AS words_hash)
FROM src.sequences WHERE run_id = $run ORDER BY seq_id;
