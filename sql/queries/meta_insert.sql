-- meta_insert: add one lossdb_meta key (after meta_delete: no constraints to trip over).
INSERT INTO lossdb_meta VALUES ($key, $value);
