-- meta_delete: unset one lossdb_meta key.
DELETE FROM lossdb_meta WHERE key = $key;
