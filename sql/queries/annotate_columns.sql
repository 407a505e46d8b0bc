-- annotate_columns: the columns of the loaded annotation file (name, type), in file order.
SELECT column_name, data_type
FROM duckdb_columns()
WHERE database_name = 'temp' AND table_name = 'lossdb_annotation_file'
ORDER BY column_index;
