-- annotate_match_counts: rows of the loaded annotation file, how many of them matched a sequence
-- (lossdb_annotation_keyed), and how many of those name a key that several sequences of one
-- complete run share (sentences repeated word for word, without source ids): their values go to
-- every copy.
WITH shared AS (
    SELECT DISTINCT seq_key FROM sequences
    WHERE run_id IN (SELECT run_id FROM complete_runs)
    GROUP BY run_id, seq_key HAVING count(*) > 1
)
SELECT (SELECT count(*) FROM lossdb_annotation_file) AS n_rows,
       count(DISTINCT lossdb_row) FILTER (WHERE lossdb_matched) AS n_matched,
       count(DISTINCT lossdb_row) FILTER (WHERE lossdb_matched AND seq_key IN (SELECT seq_key FROM shared))
           AS n_shared
FROM lossdb_annotation_keyed;
