-- loss_by_token(p_run, p_labels := 'gold'): per input token over a run's labelled tokens (the
-- first subword of each word, judged against label version p_labels): count, mean and sum of
-- the loss, highest sum first: the book's table led by '▁der' and '▁in'.
CREATE OR REPLACE MACRO loss_by_token(p_run, p_labels := 'gold') AS TABLE
SELECT token, count(*) AS count, avg(loss::DOUBLE) AS mean, sum(loss::DOUBLE) AS sum
FROM token_labels(p_run, p_labels := p_labels)
WHERE label IS NOT NULL
GROUP BY token
ORDER BY sum DESC, token;
