-- versions_calibration: per predicted label (and '(all)'), the tokens, mean confidence,
-- accuracy and expected calibration error (ECE: the n-weighted mean gap between accuracy and
-- confidence over $bins bins) of run $run against label version $labels.
SELECT label, sum(n) AS n,
       sum(n * confidence) / sum(n) AS confidence,
       sum(n * accuracy) / sum(n) AS accuracy,
       sum(n * abs(accuracy - confidence)) / sum(n) AS ece,
       max(abs(accuracy - confidence)) AS max_gap
FROM calibration_bins($run, p_labels := $labels, p_bins := $bins)
GROUP BY label
ORDER BY label = '(all)' DESC, label;
