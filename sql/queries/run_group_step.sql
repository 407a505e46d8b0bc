-- run_group_step: the group and step of complete run $run (no row: no such run). It reads the
-- runs table itself, so a store an older lossdb wrote (migrated only at the commit) answers too.
SELECT group_name, step FROM runs WHERE run_id = $run AND status = 'complete';
