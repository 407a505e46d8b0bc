-- lossdb_meta: facts about the store itself; 'schema' holds a fingerprint of the sql/schema
-- files that made its views and macros, so a reader can tell a store from another version.
CREATE TABLE IF NOT EXISTS lossdb_meta (
    key    VARCHAR NOT NULL,
    value  VARCHAR
);
