-- annotate_match_counts: rows of the loaded annotation file, and how many of them matched a
-- sequence (lossdb_annotation_keyed).
SELECT (SELECT count(*) FROM lossdb_annotation_file) AS n_rows,
       count(DISTINCT lossdb_row) FILTER (WHERE lossdb_matched) AS n_matched
FROM lossdb_annotation_keyed;
