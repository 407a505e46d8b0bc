-- annotations: the metadata tables loaded by `lossdb annotate`, oldest first.
SELECT name, source, key_column, match_by, n_rows, n_matched, created_at
FROM annotations
ORDER BY created_at, name;
