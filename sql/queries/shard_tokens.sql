-- shard_tokens: every tokens row of run $run in a shard store, streamed into a merge.
SELECT * FROM tokens WHERE run_id = $run;
