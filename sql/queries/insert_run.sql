-- insert_run: the runs row of a committed run.
INSERT INTO runs (run_id, created_at, finished_at, status, model, model_revision, data_source, split,
                  label_names, n_sequences, n_tokens, n_windowed, n_truncated, params, lossdb_version)
VALUES ($run, $created_at, now(), 'complete', $model, $model_revision, $data_source, $split,
        $label_names, $n_sequences, $n_tokens, $n_windowed, $n_truncated, $params, $version);
