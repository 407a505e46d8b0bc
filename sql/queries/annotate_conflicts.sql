-- annotate_conflicts: the first sequence key of the loaded annotation file (lossdb_annotation_keyed)
-- to which two of its rows give different values (the file's columns but the key column {key},
-- compared as one row), with those two rows and their keys as the file writes them, and how many
-- keys have such rows. Metadata joins the runs by key, so a key holds one set of values;
-- sequences with the same words and no source id share a key. No row when every key's rows agree.
WITH valued AS (
    SELECT k.seq_key, k.lossdb_row, CAST(k.{key} AS VARCHAR) AS given, v AS value
    FROM lossdb_annotation_keyed AS k,
         LATERAL (SELECT k.* EXCLUDE (lossdb_row, seq_key, lossdb_matched, {key})) AS v
    WHERE k.seq_key IS NOT NULL
),
firsts AS (
    SELECT DISTINCT ON (seq_key) seq_key, lossdb_row, given, value FROM valued ORDER BY seq_key, lossdb_row
),
conflicts AS (
    SELECT f.seq_key, f.lossdb_row AS first_row, f.given AS first_given,
           arg_min(v.lossdb_row, v.lossdb_row) AS other_row, arg_min(v.given, v.lossdb_row) AS other_given
    FROM firsts AS f
    JOIN valued AS v ON v.seq_key = f.seq_key AND v.value IS DISTINCT FROM f.value
    GROUP BY f.seq_key, f.lossdb_row, f.given
)
SELECT seq_key, first_row, first_given, other_row, other_given, count(*) OVER () AS n_keys
FROM conflicts
ORDER BY first_row
LIMIT 1;
