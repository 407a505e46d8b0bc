-- merge_metadata_create: metadata table {table}, carried over by a merge from the rows registered
-- as merge_source_metadata.
CREATE TABLE {table} AS SELECT * FROM merge_source_metadata;
