-- complete_runs: the runs a query may read (an unfinished run is never visible).
CREATE OR REPLACE VIEW complete_runs AS
SELECT * FROM runs WHERE status = 'complete';
