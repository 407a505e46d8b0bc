-- annotate_create: the metadata table {table}: seq_key and the annotation file's columns, one row
-- per key: rows that repeat a key give it the same values (annotate_conflicts refuses the
-- others), and a join by key would count a sequence once per row, so the first is kept (a key
-- column that tells copies of one sentence apart keeps the first copy's). Rows that name no
-- stored sequence stay.
CREATE TABLE {table} AS
SELECT seq_key, * EXCLUDE (lossdb_row, seq_key, lossdb_matched)
FROM lossdb_annotation_keyed
QUALIFY seq_key IS NULL OR row_number() OVER (PARTITION BY seq_key ORDER BY lossdb_row) = 1
ORDER BY lossdb_row;
