-- shard_sequence_labels: every sequence_labels row of run $run in a source store, streamed into a merge.
SELECT * FROM sequence_labels WHERE run_id = $run;
