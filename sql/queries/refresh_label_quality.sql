-- refresh_label_quality: recompute sequences.label_quality (the default label-issue score,
-- threshold_quality) of run $run from its stored type_stats, with the confident-learning
-- thresholds of the whole run: after `lossdb merge` (each shard's commit saw only its own
-- words) and when filling an older store.
UPDATE sequences AS s
SET label_quality = threshold_quality(s.type_stats, th.thresholds)
FROM (
    SELECT map(list(type), list(threshold)) AS thresholds
    FROM (SELECT t."type" AS type, sum(t."sum") / sum(t.n) AS threshold
          FROM (SELECT unnest(type_stats) AS t FROM sequences WHERE run_id = $run)
          GROUP BY t."type")
) AS th
WHERE s.run_id = $run;
