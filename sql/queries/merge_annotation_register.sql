-- merge_annotation_register: record metadata table $name carried over by a merge (after
-- annotate_unregister) as the source recorded it, with n_matched counted again over the
-- sequences of this store's complete runs: the table's rows whose seq_key names one (at most
-- $n_rows: a text key matching sequences of several keys has a row for each).
INSERT INTO annotations (name, source, key_column, match_by, n_rows, n_matched, created_at)
SELECT $name, $source, $key_column, $match_by, $n_rows,
       least($n_rows, count(*) FILTER (WHERE seq_key IN (SELECT seq_key FROM sequences
                                                         WHERE run_id IN (SELECT run_id FROM complete_runs)))),
       $created_at
FROM {table};
