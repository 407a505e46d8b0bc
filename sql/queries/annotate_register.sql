-- annotate_register: record metadata table $name (after annotate_unregister removed any earlier record).
INSERT INTO annotations (name, source, key_column, match_by, n_rows, n_matched, created_at)
VALUES ($name, $source, $key_column, $match_by, $n_rows, $n_matched, now());
