-- sequence_scores(p_run, p_labels := 'gold'): per sequence of a complete run, its loss
-- aggregates (total_loss, mean_loss, n_labelled, n_errors, max_loss, label_quality) judged
-- against label version p_labels. Gold, and every sequence a version leaves as gold, reads the
-- aggregates stored at ingest; the sequences a version changes are recomputed from the stored
-- probabilities (token_labels). label_quality is the default label-issue score
-- (label_scores.rank_mean); under a version, every sequence's as stored when the
-- version was written (version_quality), since the version's noise estimate and word labels
-- are its own. Numbered 180, beside token_labels,
-- because the analysis macros in 2xx build on it.
CREATE OR REPLACE MACRO sequence_scores(p_run, p_labels := 'gold') AS TABLE
WITH recomputed AS (
    SELECT t.seq_id,
           sum(t.loss::DOUBLE) AS total_loss,
           avg(t.loss::DOUBLE) FILTER (WHERE t.label IS NOT NULL) AS mean_loss,
           count(*) FILTER (WHERE t.label IS NOT NULL) AS n_labelled,
           count(*) FILTER (WHERE t.label IS NOT NULL AND t.pred <> t.label) AS n_errors,
           max(t.loss) AS max_loss
    FROM token_labels(p_run, p_labels := p_labels) AS t
    WHERE t.seq_id IN (SELECT seq_id FROM sequence_labels WHERE run_id = p_run AND version = p_labels)
    GROUP BY t.seq_id
),
versioned AS (
    -- GROUP BY over the key (run_id, version, seq_id): DuckDB 2.0.1 drops a LIMIT over a LEFT
    -- JOIN whose right side it proves empty, as this one is under gold (tests/test_schema_limits.py)
    SELECT seq_id, any_value(label_quality) AS label_quality
    FROM version_quality WHERE run_id = p_run AND version = p_labels
    GROUP BY seq_id
)
SELECT s.run_id, s.seq_id, s.seq_key, s.source_id, p_labels AS labels,
       r.seq_id IS NOT NULL AS relabelled,
       CASE WHEN r.seq_id IS NULL THEN s.total_loss ELSE r.total_loss END AS total_loss,
       CASE WHEN r.seq_id IS NULL THEN s.mean_loss ELSE r.mean_loss END AS mean_loss,
       s.n_tokens,
       CASE WHEN r.seq_id IS NULL THEN s.n_labelled ELSE r.n_labelled END AS n_labelled,
       CASE WHEN r.seq_id IS NULL THEN s.n_errors ELSE r.n_errors END AS n_errors,
       CASE WHEN r.seq_id IS NULL THEN s.max_loss ELSE r.max_loss END AS max_loss,
       CASE WHEN p_labels = 'gold' THEN s.label_quality ELSE q.label_quality END AS label_quality,
       s.n_windows, s.truncated
FROM sequences AS s
LEFT JOIN recomputed AS r ON r.seq_id = s.seq_id
LEFT JOIN versioned AS q ON q.seq_id = s.seq_id
CROSS JOIN (SELECT known_version(p_run, p_labels) AS known) AS k  -- one row, or an error (sql/schema/116)
WHERE s.run_id = p_run AND s.run_id IN (SELECT run_id FROM complete_runs) AND k.known;
