-- dynamics_sequences: the training dynamics of the sequences of group $group, the $n most
-- suspect first by $method: aum, confidence or correctness (their worst word's, lowest
-- first), forgetting or variability (highest first); ties by AUM, then seq_id. $n NULL: all.
SELECT row_number() OVER (ORDER BY
           CASE $method WHEN 'aum' THEN min_aum
                        WHEN 'confidence' THEN min_confidence
                        WHEN 'correctness' THEN min_correctness
                        WHEN 'forgetting' THEN -forgetting
                        WHEN 'variability' THEN -variability END,
           min_aum, seq_id) AS rank,
       *
FROM group_sequence_dynamics($group)
ORDER BY rank
LIMIT $n;
