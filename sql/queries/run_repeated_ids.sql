-- run_repeated_ids: the source ids that more than one sequence of run $run carries (most
-- repeated first; the first 3) and how many sequences carry a repeated id in all.
WITH counted AS (
    SELECT source_id, count(*) AS n
    FROM sequences
    WHERE run_id = $run AND source_id IS NOT NULL
    GROUP BY source_id
    HAVING count(*) > 1
)
SELECT (SELECT coalesce(sum(n), 0) FROM counted) AS n_sequences,
       (SELECT list({'id': source_id, 'n': n} ORDER BY n DESC, source_id)[1:3] FROM counted) AS examples;
