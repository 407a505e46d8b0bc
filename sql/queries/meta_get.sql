-- meta_get: the value of one lossdb_meta key (no row when unset).
SELECT value FROM lossdb_meta WHERE key = $key;
