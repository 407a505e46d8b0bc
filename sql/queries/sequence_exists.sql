-- sequence_exists: whether run $run has a sequence with seq_id $seq_id.
SELECT EXISTS (SELECT 1 FROM sequences WHERE run_id = $run AND seq_id = $seq_id) AS found;
