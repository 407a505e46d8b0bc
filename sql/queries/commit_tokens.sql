-- commit_tokens: copy a run's staged token rows (Parquet, label and pred as ids) into tokens.
-- $run: run_id; $labels: the model's label names in id order; $path: staged Parquet file.
INSERT INTO tokens
SELECT $run, seq_id, position, token, token_id, word_index,
       CASE WHEN label_id >= 0 THEN $labels[label_id + 1] END,
       $labels[pred_id + 1], loss, probs
FROM read_parquet($path);
