-- group_precheck: what can be told about run $run joining group $group before it is scored:
-- the run of the group that already holds step $step (NULL: none), and the group's reference run
-- (its first other complete run, as group_check picks it) with its number of sequences and its
-- label names.
WITH reference AS (
    SELECT run_id, n_sequences, label_names FROM complete_runs
    WHERE group_name = $group AND run_id <> $run
    ORDER BY step, run_id LIMIT 1
)
SELECT (SELECT min(run_id) FROM complete_runs
        WHERE group_name = $group AND step = $step::BIGINT AND run_id <> $run) AS step_run,
       (SELECT run_id FROM reference) AS reference,
       (SELECT n_sequences FROM reference) AS n_sequences,
       (SELECT label_names FROM reference) AS label_names;
