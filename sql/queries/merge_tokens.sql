-- merge_tokens: append one shard's token rows of run $run (registered as merge_source_tokens).
INSERT INTO tokens SELECT * FROM merge_source_tokens WHERE run_id = $run;
