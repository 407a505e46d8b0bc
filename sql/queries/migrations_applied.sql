-- migrations_applied: the migrations this store records, in order.
SELECT version, name, applied_at, lossdb_version FROM lossdb_migrations ORDER BY version;
