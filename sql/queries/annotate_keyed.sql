-- annotate_keyed: the loaded annotation file with each row's sequence key, as temporary table
-- lossdb_annotation_keyed: (row, seq_key, matched, the file's columns). {key} is the quoted key
-- column; $match says how it names sequences:
--   'id'      the source's id column (sequences.source_id): seq_key is the value as text;
--   'text'    the sequence's words, a list or a string split on white space: matched by
--             words_hash (sql/schema/126) to the seq_key of every stored
--             sequence with those words; unmatched rows keep the hash, the key of a sequence
--             without a source id;
--   'seq_id'  the row index in the source of run $run: its sequence's seq_key.
-- matched: the row's key names a sequence of a complete run.
CREATE OR REPLACE TEMP TABLE lossdb_annotation_keyed AS
WITH file AS (
    SELECT row_number() OVER () AS lossdb_row, * FROM lossdb_annotation_file
),
stored AS (
    SELECT DISTINCT seq_key, words_hash, source_id
    FROM sequences
    WHERE run_id IN (SELECT run_id FROM complete_runs)
),
by_id AS (
    SELECT f.lossdb_row, CAST(f.{key} AS VARCHAR) AS seq_key
    FROM file AS f
    WHERE $match = 'id'
),
by_text AS (
    SELECT f.lossdb_row,
           words_hash(CASE WHEN typeof(f.{key}) LIKE '%[]'
                           THEN CAST(f.{key} AS VARCHAR[])
                           ELSE string_split_regex(trim(CAST(f.{key} AS VARCHAR)), '\s+') END) AS words_hash
    FROM file AS f
    WHERE $match = 'text'
),
by_seq_id AS (
    SELECT f.lossdb_row, s.seq_key
    FROM file AS f
    LEFT JOIN sequences AS s ON s.run_id = $run AND s.seq_id = TRY_CAST(f.{key} AS BIGINT)
    WHERE $match = 'seq_id'
),
keys AS (
    SELECT lossdb_row, seq_key FROM by_id
    UNION ALL
    SELECT t.lossdb_row, coalesce(s.seq_key, t.words_hash)
    FROM by_text AS t
    LEFT JOIN (SELECT DISTINCT seq_key, words_hash FROM stored) AS s ON s.words_hash = t.words_hash
    UNION ALL
    SELECT lossdb_row, seq_key FROM by_seq_id
)
SELECT k.lossdb_row, k.seq_key,
       k.seq_key IN (SELECT seq_key FROM stored) AS lossdb_matched,
       f.* EXCLUDE (lossdb_row)
FROM keys AS k
JOIN file AS f USING (lossdb_row);
