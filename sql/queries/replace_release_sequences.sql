-- replace_release_sequences: drop the temporary table replace_hold_sequences made.
DROP TABLE IF EXISTS temp.lossdb_replaced_sequences;
