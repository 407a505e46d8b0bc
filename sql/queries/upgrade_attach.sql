-- upgrade_attach: the new file `lossdb upgrade` rewrites a store into, in a storage version
-- DuckDB 1.x clients can open.
ATTACH $path AS lossdb_upgrade (STORAGE_VERSION $storage_version);
