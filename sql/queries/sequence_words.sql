-- sequence_words: the words of the sequences $seq_ids of run $run.
SELECT seq_id, words FROM sequences WHERE run_id = $run AND list_contains($seq_ids, seq_id);
