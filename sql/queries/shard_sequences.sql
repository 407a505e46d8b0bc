-- shard_sequences: every sequences row of run $run in a shard store, streamed into a merge.
SELECT * FROM sequences WHERE run_id = $run;
