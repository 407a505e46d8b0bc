-- loss_histogram: the losses of run $run's labelled tokens, judged against label version
-- $labels, in $bins equal-width bins from 0 to the highest loss: bin, lo, hi, n_correct
-- (pred = label), n_wrong. Empty bins included. Under gold the token rows are read once, and
-- only their label, pred and loss columns (token_labels would read every probability too: 5x
-- slower); under a version, token_labels recomputes the sequences it changes. The highest
-- loss is the largest max_loss of the run's sequences (ignored tokens have loss 0).
WITH labelled AS (
    SELECT label, pred, loss FROM tokens WHERE run_id = $run AND label IS NOT NULL AND $labels = 'gold'
    UNION ALL
    SELECT label, pred, loss FROM token_labels($run, p_labels := $labels)
    WHERE label IS NOT NULL AND $labels <> 'gold'
),
scale AS (
    SELECT greatest(max(max_loss), 1e-6)::DOUBLE AS top FROM sequence_scores($run, p_labels := $labels)
),
counted AS (
    SELECT least(floor(t.loss / (scale.top / $bins)), $bins - 1)::INTEGER AS bin,
           count(*) FILTER (WHERE t.pred = t.label) AS n_correct,
           count(*) FILTER (WHERE t.pred <> t.label) AS n_wrong
    FROM labelled AS t, scale
    GROUP BY ALL
)
SELECT b.bin, b.bin * s.top / $bins AS lo, (b.bin + 1) * s.top / $bins AS hi,
       coalesce(c.n_correct, 0) AS n_correct, coalesce(c.n_wrong, 0) AS n_wrong
FROM range($bins) AS b(bin)
CROSS JOIN scale AS s
LEFT JOIN counted AS c ON c.bin = b.bin
ORDER BY b.bin;
