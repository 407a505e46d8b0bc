-- store_check: how many of the core tables exist, and the store's schema fingerprint.
SELECT (SELECT count(*) FROM duckdb_tables() WHERE table_name IN ('runs', 'sequences', 'tokens')) AS core_tables,
       (SELECT count(*) FROM duckdb_tables() WHERE table_name = 'lossdb_meta') AS has_meta;
