-- runs_named_like: the complete runs whose name starts with $prefix, e.g. a training
-- callback's GROUP@, so that it never takes a run outside its group for one of its own.
SELECT run_id FROM complete_runs WHERE starts_with(run_id, $prefix) ORDER BY run_id;
