-- storage_version: the DuckDB storage version of the open file, e.g. 'v1.4.0+' or 'v2.0.0+'.
SELECT tags['storage_version'] AS storage_version FROM duckdb_databases() WHERE database_name = current_database();
