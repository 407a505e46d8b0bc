-- search: the $n sequences of run $run (labels $labels) with a token matching every condition
-- given (search_hits), highest total loss first: rank, seq_id, total_loss, mean_loss,
-- label_quality, n_matches (its matching tokens), positions (theirs, in order: tokens.position)
-- and n_sequences (how many sequences match).
-- Their token lists come from sequence_lists.
WITH matched AS (
    SELECT seq_id, count(*) AS n_matches, list(position ORDER BY position) AS positions
    FROM search_hits($run, p_labels := $labels, p_token := $token, p_word := $word,
                     p_label := $label, p_pred := $pred, p_errors := $errors)
    GROUP BY seq_id
),
ranked AS (
    SELECT m.seq_id, m.n_matches, m.positions, c.total_loss, c.mean_loss, c.label_quality,
           count(*) OVER () AS n_sequences
    FROM matched AS m
    JOIN sequence_scores($run, p_labels := $labels) AS c ON c.seq_id = m.seq_id
    ORDER BY c.total_loss DESC, m.seq_id
    LIMIT $n OFFSET 0  -- OFFSET 0: DuckDB 2.0.1 can drop a bare LIMIT over token_labels
)
SELECT row_number() OVER (ORDER BY total_loss DESC, seq_id) AS rank, $run AS run_id, seq_id,
       total_loss, mean_loss, label_quality, n_matches, positions, n_sequences
FROM ranked
ORDER BY rank;
