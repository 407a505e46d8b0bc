-- insert_run: the runs row of a committed run. A run of group $group without a $step takes
-- the step after the group's last one (1 for the first).
INSERT INTO runs (run_id, created_at, finished_at, status, model, model_revision, data_source, split,
                  label_names, n_sequences, n_tokens, n_windowed, n_truncated, params, lossdb_version,
                  group_name, step)
VALUES ($run, $created_at, now(), 'complete', $model, $model_revision, $data_source, $split,
        $label_names, $n_sequences, $n_tokens, $n_windowed, $n_truncated, $params, $version,
        $group::VARCHAR,
        CASE WHEN $group::VARCHAR IS NULL THEN NULL
             ELSE coalesce($step::BIGINT, (SELECT max(step) + 1 FROM complete_runs WHERE group_name = $group::VARCHAR), 1) END);
