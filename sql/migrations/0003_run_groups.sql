-- 0003_run_groups: run groups (issue #15): a run may belong to a group (e.g. one run per training epoch) with
-- an ordered step. Existing runs belong to no group (NULL, NULL); nothing to backfill.
ALTER TABLE runs ADD COLUMN IF NOT EXISTS group_name VARCHAR;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS step BIGINT;
