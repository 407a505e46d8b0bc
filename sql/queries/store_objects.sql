-- store_objects: the tables, views and macros of the file's main schema (what tells a lossdb
-- store from another application's database, and what lossdb's names could collide with).
SELECT lower(table_name) AS name, 'table' AS kind FROM duckdb_tables()
WHERE database_name = current_database() AND schema_name = 'main'
UNION ALL
SELECT lower(view_name), 'view' FROM duckdb_views()
WHERE database_name = current_database() AND schema_name = 'main' AND NOT internal
UNION ALL
SELECT DISTINCT lower(function_name), 'macro' FROM duckdb_functions()
WHERE database_name = current_database() AND schema_name = 'main' AND NOT internal
  AND function_type IN ('macro', 'table_macro')
ORDER BY name;
