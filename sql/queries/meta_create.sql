-- meta_create: the table lossdb_meta as migration 0001 makes it, for `upgrade` of a store that
-- lost it (dropped by hand): facts about the store itself ('schema': its views' fingerprint).
CREATE TABLE IF NOT EXISTS lossdb_meta (
    key    VARCHAR NOT NULL,
    value  VARCHAR
);
