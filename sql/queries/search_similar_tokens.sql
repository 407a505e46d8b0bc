-- search_similar_tokens: how often run $run holds token $token (n_token), the tokens it holds that
-- differ from it only in case or in a tokenizer's word marks ('▁' before, '##' before), most
-- frequent first (at most 3), and how many sequences hold $token as a word.
-- The run's distinct tokens are counted first (MATERIALIZED: the comparison then runs once per
-- distinct token, tens of thousands, not once per token row, tens of millions).
WITH counts AS MATERIALIZED (
    SELECT token, count(*) AS n FROM tokens WHERE run_id = $run GROUP BY token
),
alike AS (
    SELECT token, n
    FROM counts
    WHERE lower(regexp_replace(token, '^(▁|##)', '')) = lower(regexp_replace($token, '^(▁|##)', ''))
      AND token <> $token
    ORDER BY n DESC, token
    LIMIT 3
)
SELECT coalesce((SELECT n FROM counts WHERE token = $token), 0) AS n_token,
       (SELECT list(token ORDER BY n DESC, token) FROM alike) AS tokens,
       (SELECT count(*) FROM sequences  -- the token as typed and in NFC (normalising every stored
        WHERE run_id = $run             -- word, as search --word does, costs 5x on a million sequences)
          AND (list_contains(words, $token) OR list_contains(words, nfc_normalize($token)))) AS n_word;
