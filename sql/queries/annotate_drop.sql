-- annotate_drop: drop metadata table {table} (being replaced).
DROP TABLE IF EXISTS {table};
