-- annotate_create: the metadata table {table}: seq_key and the annotation file's columns.
CREATE TABLE {table} AS
SELECT seq_key, * EXCLUDE (lossdb_row, seq_key, lossdb_matched)
FROM lossdb_annotation_keyed
ORDER BY lossdb_row;
