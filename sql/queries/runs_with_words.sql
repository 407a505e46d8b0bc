-- runs_with_words: per complete run, how many of the word hashes $hashes (a label file's
-- sentences) it holds, most first: which run a file without ids or run names belongs to.
SELECT s.run_id, count(DISTINCT s.words_hash) AS n_found
FROM sequences AS s
JOIN complete_runs AS r USING (run_id)
WHERE s.words_hash IN (SELECT unnest($hashes::VARCHAR[]))
GROUP BY s.run_id
ORDER BY n_found DESC, max(r.created_at) DESC, s.run_id;
