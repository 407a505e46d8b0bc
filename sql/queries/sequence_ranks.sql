-- sequence_ranks: where each of $seq_ids ranks among the $n sequences of run $run by $by, as
-- top_sequences ranks them (pass the run's sequence count as $n to rank them all).
SELECT rank, seq_id
FROM top_sequences($n, p_run := $run, p_by := $by)
WHERE list_contains($seq_ids, seq_id)
ORDER BY rank;
