-- group_precheck_sequences: how the data about to be scored as a run of a group (lossdb_incoming:
-- seq_id, seq_key, words_hash, labels, registered by the ingest) fits run $reference, the group's
-- reference run: as group_check counts it after the scoring, the (seq_id, seq_key) pairs only
-- in the data and only in the reference, the first such seq_id, and the sequences both hold with
-- other gold labels, and the first of those.
WITH theirs AS (SELECT seq_id, seq_key, labels FROM sequences WHERE run_id = $reference),
only_here AS (SELECT seq_id, seq_key FROM lossdb_incoming EXCEPT SELECT seq_id, seq_key FROM theirs),
only_there AS (SELECT seq_id, seq_key FROM theirs EXCEPT SELECT seq_id, seq_key FROM lossdb_incoming),
relabelled AS (
    SELECT a.seq_id FROM lossdb_incoming AS a
    JOIN theirs AS b ON b.seq_id = a.seq_id AND b.seq_key = a.seq_key
    WHERE a.labels IS DISTINCT FROM b.labels
)
SELECT (SELECT count(*) FROM only_here) AS n_only_here,
       (SELECT count(*) FROM only_there) AS n_only_there,
       (SELECT min(seq_id) FROM (SELECT seq_id FROM only_here UNION ALL SELECT seq_id FROM only_there)) AS first_seq_id,
       (SELECT count(*) FROM relabelled) AS n_relabelled,
       (SELECT min(seq_id) FROM relabelled) AS first_relabelled;
