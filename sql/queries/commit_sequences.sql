-- commit_sequences: copy a run's staged sequences into sequences, with the aggregates of
-- its token rows (total and mean loss, counts, max loss, label quality).
-- label_quality is cleanlab's token-classification sentence score (Wang & Mueller 2022):
-- the soft-min (temperature $temperature) of each labelled token's self-confidence,
-- p(gold label) = exp(-loss). Low means likely mislabelled.
INSERT INTO sequences BY NAME
WITH token_stats AS (
    SELECT seq_id,
           sum(loss::DOUBLE) AS total_loss,
           avg(loss::DOUBLE) FILTER (WHERE label_id >= 0) AS mean_loss,
           count(*) FILTER (WHERE label_id >= 0) AS n_labelled,
           count(*) FILTER (WHERE label_id >= 0 AND pred_id <> label_id) AS n_errors,
           max(loss) AS max_loss,
           sum(exp(-loss::DOUBLE) * exp((1 - exp(-loss::DOUBLE)) / $temperature)) FILTER (WHERE label_id >= 0)
             / sum(exp((1 - exp(-loss::DOUBLE)) / $temperature)) FILTER (WHERE label_id >= 0) AS label_quality
    FROM read_parquet($tokens_path)
    GROUP BY seq_id
)
SELECT $run AS run_id, s.seq_id, coalesce(s.source_id, s.words_hash) AS seq_key, s.source_id, s.words_hash,
       s.words, s.labels, s.n_tokens, s.n_windows, s.truncated,
       t.total_loss, t.mean_loss, t.n_labelled, t.n_errors, t.max_loss, t.label_quality,
       s.label_codes, s.pred_codes
FROM read_parquet($sequences_path) AS s
JOIN token_stats AS t USING (seq_id)
ORDER BY s.seq_id;
