-- annotate_read_parquet: load the Parquet file $path into the temporary table the annotate steps read.
CREATE OR REPLACE TEMP TABLE lossdb_annotation_file AS
SELECT * FROM read_parquet($path);
