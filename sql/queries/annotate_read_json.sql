-- annotate_read_json: load the JSON Lines (or JSON array) file $path into the temporary table the
-- annotate steps read.
CREATE OR REPLACE TEMP TABLE lossdb_annotation_file AS
SELECT * FROM read_json_auto($path);
