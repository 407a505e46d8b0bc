-- corpus_prior: corpus_min of every sequence of run $run (gold labels) with the prior weighted
-- $strength pseudo-counts, in seq_id order (bench/corpus_prior.py).
SELECT seq_id, corpus_min
FROM (SELECT seq_id FROM sequences WHERE run_id = $run)
LEFT JOIN corpus_quality($run, p_strength := $strength) USING (seq_id)
ORDER BY seq_id;
