-- group_check: how run $run (its sequences written, its runs row not yet) fits group $group:
-- the group's first other complete run (reference), its label names, how many of this run's
-- (seq_id, seq_key) pairs the reference lacks and the other way round, the first such seq_id,
-- how many of the sequences both hold carry other gold labels (dynamics judge every step
-- against one set of labels) and the first of those, and the run of the group that already
-- holds step $step (NULL: none).
WITH reference AS (
    SELECT run_id, label_names FROM complete_runs
    WHERE group_name = $group AND run_id <> $run
    ORDER BY step, run_id LIMIT 1
),
mine AS (SELECT seq_id, seq_key FROM sequences WHERE run_id = $run),
theirs AS (SELECT seq_id, seq_key FROM sequences WHERE run_id = (SELECT run_id FROM reference)),
only_here AS (SELECT * FROM mine EXCEPT SELECT * FROM theirs),
only_there AS (SELECT * FROM theirs EXCEPT SELECT * FROM mine),
relabelled AS (
    SELECT a.seq_id
    FROM sequences AS a
    JOIN sequences AS b ON b.run_id = (SELECT run_id FROM reference) AND b.seq_id = a.seq_id AND b.seq_key = a.seq_key
    WHERE a.run_id = $run AND a.labels IS DISTINCT FROM b.labels
)
SELECT (SELECT run_id FROM reference) AS reference,
       (SELECT label_names FROM reference) AS label_names,
       (SELECT count(*) FROM only_here) AS n_only_here,
       (SELECT count(*) FROM only_there) AS n_only_there,
       (SELECT min(seq_id) FROM (SELECT seq_id FROM only_here UNION ALL SELECT seq_id FROM only_there)) AS first_seq_id,
       (SELECT count(*) FROM relabelled) AS n_relabelled,
       (SELECT min(seq_id) FROM relabelled) AS first_relabelled,
       (SELECT min(run_id) FROM complete_runs
        WHERE group_name = $group AND step = $step::BIGINT AND run_id <> $run) AS step_run;
