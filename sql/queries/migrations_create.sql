-- migrations_create: the record of the migrations (sql/migrations) applied to this store.
CREATE TABLE IF NOT EXISTS lossdb_migrations (
    version         INTEGER NOT NULL,
    name            VARCHAR NOT NULL,
    applied_at      TIMESTAMPTZ NOT NULL,
    lossdb_version  VARCHAR NOT NULL      -- the lossdb that applied it
);
