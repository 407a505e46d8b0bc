-- run_is_shard: whether run $run was scored as a shard (ingest --shard i/N, not yet merged).
SELECT coalesce((SELECT params ->> 'shard' IS NOT NULL FROM runs WHERE run_id = $run), false) AS shard;
