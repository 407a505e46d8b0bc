-- metadata_rows: every row of metadata table {table}.
SELECT * FROM {table};
