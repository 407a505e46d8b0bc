-- calibration_bins(p_run, p_labels := 'gold', p_bins := 10): the reliability table of a run
-- against label version p_labels. Every labelled token (the first subword of a word) falls in
-- the confidence bin of its predicted label's probability; per predicted label (and '(all)'
-- for every token) and bin: n tokens, mean confidence, and accuracy (the share whose label
-- equals the prediction). Empty bins are absent.
CREATE OR REPLACE MACRO calibration_bins(p_run, p_labels := 'gold', p_bins := 10) AS TABLE
WITH binned AS (
    SELECT pred, list_max(probs)::DOUBLE AS confidence, (pred = label)::DOUBLE AS correct,
           least(floor(list_max(probs) * p_bins), p_bins - 1)::INTEGER AS bin
    FROM token_labels(p_run, p_labels := p_labels)
    WHERE label IS NOT NULL
)
SELECT coalesce(pred, '(all)') AS label, bin,
       bin / p_bins AS lower, (bin + 1) / p_bins AS upper,
       count(*) AS n, avg(confidence) AS confidence, avg(correct) AS accuracy
FROM binned
GROUP BY GROUPING SETS ((pred, bin), (bin));
