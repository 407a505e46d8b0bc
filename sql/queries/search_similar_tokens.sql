-- search_similar_tokens: how often run $run holds token $token (n_token), the tokens it holds that
-- differ from it only in case or in a tokenizer's word marks ('▁' before, '##' before), most
-- frequent first (at most 3), and how many sequences hold $token as a word (NFC on both sides).
WITH wanted AS (
    SELECT lower(regexp_replace($token, '^(▁|##)', '')) AS bare
),
alike AS (
    SELECT token, count(*) AS n
    FROM tokens, wanted
    WHERE run_id = $run AND lower(regexp_replace(token, '^(▁|##)', '')) = wanted.bare AND token <> $token
    GROUP BY token
    ORDER BY n DESC, token
    LIMIT 3
)
SELECT (SELECT count(*) FROM tokens WHERE run_id = $run AND token = $token) AS n_token,
       (SELECT list(token ORDER BY n DESC, token) FROM alike) AS tokens,
       (SELECT count(*) FROM sequences
        WHERE run_id = $run
          AND list_contains(list_transform(words, lambda w: nfc_normalize(w)), nfc_normalize($token))) AS n_word;
