-- merge_sequences: append one shard's sequences of run $run (registered as merge_source_sequences).
INSERT INTO sequences BY NAME SELECT * FROM merge_source_sequences WHERE run_id = $run;
