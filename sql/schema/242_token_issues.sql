-- token_issues(p_run, p_labels := 'gold'): every labelled token (the first subword of a word) of
-- a run, judged against label version p_labels, with cleanlab's token-level label-issue test
-- (cleanlab.token_classification.filter.find_label_issues, Wang & Mueller 2022, which applies
-- confident learning, Northcutt et al. 2021, to the tokens as independent examples):
--   p_label    the model's probability of the given label: the token's self-confidence,
--              cleanlab's token label-quality score (low = suspect)
--   p_pred     the probability of the model's prediction (argmax)
--   threshold  the given class's confident threshold t_k (class_thresholds)
--   is_issue   cleanlab's filter_by='confident_learning': the token lies off the diagonal of
--              the confident joint (some class j other than the given one reaches its
--              threshold, p_j >= t_j - 1e-6) and the prediction differs from the given label.
CREATE OR REPLACE MACRO token_issues(p_run, p_labels := 'gold') AS TABLE
WITH thresholds AS (
    SELECT list(threshold ORDER BY label_index) AS t
    FROM class_thresholds(p_run, p_labels := p_labels)
),
names AS (
    SELECT label_names FROM complete_runs WHERE run_id = p_run
),
labelled AS (
    SELECT t.seq_id, t.position, t.word_index, t.token, t.label, t.pred, t.probs,
           list_position(n.label_names, t.label) AS label_index
    FROM token_labels(p_run, p_labels := p_labels) AS t
    CROSS JOIN names AS n
    WHERE t.label IS NOT NULL
)
SELECT l.seq_id, l.position, l.word_index, l.token, l.label, l.pred,
       l.probs[l.label_index]::DOUBLE AS p_label,
       list_max(l.probs)::DOUBLE AS p_pred,
       th.t[l.label_index] AS threshold,
       l.pred <> l.label
         AND list_bool_or(list_transform(l.probs, lambda p, j: j <> l.label_index AND p >= th.t[j] - 1e-6)) AS is_issue
FROM labelled AS l
CROSS JOIN thresholds AS th;
