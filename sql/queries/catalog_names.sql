-- catalog_names: the tables and views of the store (main schema), lower case.
SELECT lower(table_name) AS name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main'
UNION
SELECT lower(view_name) FROM duckdb_views() WHERE database_name = current_database() AND schema_name = 'main';
