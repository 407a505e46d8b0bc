-- group_word_steps(p_group): one row per run of group p_group and labelled word (its first
-- subword, the token that carries its label): the run's step, the gold label's probability
-- p_gold, the strongest other label's p_other, whether the prediction is the gold label,
-- margin = log p_gold - log p_other (equal to the logit margin; probabilities are clamped at
-- 1e-45, float32's smallest, before the log), and forgotten: right at the group's previous
-- step and wrong at this one (a forgetting event, Toneva et al. 2019).
CREATE OR REPLACE MACRO group_word_steps(p_group) AS TABLE
WITH steps AS (
    SELECT r.run_id, r.step, t.seq_id, t.word_index, t.label, t.pred, t.probs,
           list_position(r.label_names, t.label) AS gold_index
    FROM complete_runs AS r
    JOIN tokens AS t ON t.run_id = r.run_id
    WHERE r.group_name = p_group AND t.label IS NOT NULL
),
scored AS (
    SELECT run_id, step, seq_id, word_index, label, pred,
           probs[gold_index]::DOUBLE AS p_gold,
           list_max(list_filter(probs, lambda p, j: j <> gold_index))::DOUBLE AS p_other,
           pred = label AS correct
    FROM steps
)
SELECT *,
       ln(greatest(p_gold, 1e-45)) - ln(greatest(p_other, 1e-45)) AS margin,
       coalesce(lag(correct) OVER (PARTITION BY seq_id, word_index ORDER BY step, run_id), false)
         AND NOT correct AS forgotten
FROM scored;
