-- commit_memory_limit: bound DuckDB's buffer pool (64 MB) while a run is copied in, so that the
-- ingest's peak memory does not grow with the size of the run (DuckDB spills or evicts
-- instead; the default would let it keep up to 80% of RAM of freshly written blocks).
SET memory_limit = '64MB';
