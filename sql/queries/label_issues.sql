-- label_issues: the $n sequences of run $run most likely to carry a label error under label
-- version $labels by ranking $method (a column of label_scores; $descending for total_loss,
-- whose high values are suspect): rank, seq_id, the method's score (score), the book's
-- total_loss, and the text. Ties are ranked by seq_id. Their suspects come from
-- label_issue_words and label_issue_suspects. $default names the default method, whose gold
-- score the store keeps.
WITH scored AS (
    -- the default under gold is stored at commit (label_quality): no scan of every score
    SELECT seq_id, total_loss, label_quality AS score
    FROM sequences
    WHERE run_id = $run AND $method = $default AND $labels = 'gold'
    UNION ALL
    SELECT seq_id, total_loss,
           CASE $method
               WHEN 'posterior_softmin' THEN posterior_softmin WHEN 'min' THEN "min" WHEN 'softmin' THEN softmin WHEN 'type_min' THEN type_min
               WHEN 'type_margin' THEN type_margin WHEN 'threshold_min' THEN threshold_min
               WHEN 'threshold_sidak' THEN threshold_sidak WHEN 'rank_mean' THEN rank_mean WHEN 'total_loss' THEN total_loss
           END AS score
    FROM label_scores($run, p_labels := $labels)
    WHERE NOT ($method = $default AND $labels = 'gold')
),
ranked AS (
    SELECT seq_id, score, total_loss,
           CASE WHEN $descending THEN -score ELSE score END AS suspicion_order
    FROM scored
    ORDER BY suspicion_order ASC NULLS LAST, seq_id
    LIMIT $n
)
SELECT row_number() OVER (ORDER BY r.suspicion_order ASC NULLS LAST, r.seq_id) AS rank,
       $run AS run_id, r.seq_id, r.score, r.total_loss,
       array_to_string(s.words, ' ') AS text
FROM ranked AS r
JOIN sequences AS s ON s.run_id = $run AND s.seq_id = r.seq_id
ORDER BY rank;
