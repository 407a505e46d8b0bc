-- annotate_read_csv: load the CSV (or TSV) file $path into the temporary table the annotate steps read.
CREATE OR REPLACE TEMP TABLE lossdb_annotation_file AS
SELECT * FROM read_csv($path, auto_detect = true, header = true);
