-- versions_reliability: the reliability table of run $run against label version $labels in
-- $bins confidence bins, per predicted label and '(all)'.
SELECT label, bin, lower, upper, n, confidence, accuracy
FROM calibration_bins($run, p_labels := $labels, p_bins := $bins)
ORDER BY label = '(all)' DESC, label, bin;
