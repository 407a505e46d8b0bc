-- replace_hold_sequences: the words and gold labels of every sequence of run $run, kept in temporary
-- table lossdb_replaced_sequences while the run is replaced, to check that its label versions
-- (corrections of those words, falling back to those gold labels) still fit the new run.
CREATE OR REPLACE TEMP TABLE lossdb_replaced_sequences AS
SELECT seq_id, words_hash, labels FROM sequences WHERE run_id = $run;
