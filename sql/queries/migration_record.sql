-- migration_record: note that migration $version ($name) has been applied.
INSERT INTO lossdb_migrations VALUES ($version, $name, now(), $lossdb_version);
