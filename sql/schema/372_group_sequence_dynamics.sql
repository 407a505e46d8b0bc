-- group_sequence_dynamics(p_group): training dynamics per sequence across the runs of group
-- p_group. The sequence is the unit of the data map: at each run its confidence is the mean
-- gold-label probability of its labelled words, and it is correct when every word is;
-- confidence / variability / correctness are the mean / population std / share of runs of
-- those. forgetting sums its words' forgetting events. aum is the mean of its words' AUM;
-- min_aum, min_confidence and min_correctness are its worst word's (a whole sentence of right
-- labels hides one wrong entity in a mean), with that word (worst_word, by AUM), its label and
-- its prediction at the last step. region: ambiguous where variability >= p_variability, else
-- easy-to-learn where confidence >= p_confidence, else hard-to-learn.
CREATE OR REPLACE MACRO group_sequence_dynamics(p_group, p_variability := 0.2, p_confidence := 0.5) AS TABLE
WITH per_run AS (
    SELECT seq_id, run_id, avg(p_gold) AS p_gold, bool_and(correct) AS correct,
           count(*) FILTER (WHERE forgotten) AS n_forgotten
    FROM group_word_steps(p_group)
    GROUP BY seq_id, run_id
),
by_sequence AS (
    SELECT seq_id, count(*) AS n_runs, avg(p_gold) AS confidence, stddev_pop(p_gold) AS variability,
           avg(correct::INTEGER) AS correctness, sum(n_forgotten)::BIGINT AS forgetting
    FROM per_run
    GROUP BY seq_id
),
by_word AS (
    SELECT seq_id, count(*) AS n_words, avg(aum) AS aum, min(aum) AS min_aum, min(confidence) AS min_confidence,
           min(correctness) AS min_correctness,
           arg_min(word_index, aum) AS worst_index, arg_min(label, aum) AS worst_label,
           arg_min(preds[-1], aum) AS worst_pred
    FROM group_word_dynamics(p_group)
    GROUP BY seq_id
),
first_run AS (
    SELECT run_id FROM complete_runs WHERE group_name = p_group ORDER BY step, run_id LIMIT 1
)
SELECT q.seq_id, s.seq_key, q.n_runs, w.n_words,
       q.confidence, q.variability, q.correctness, q.forgetting, w.aum,
       w.min_aum, w.min_confidence, w.min_correctness,
       s.words[w.worst_index + 1] AS worst_word, w.worst_label, w.worst_pred,
       CASE WHEN q.variability >= p_variability THEN 'ambiguous'
            WHEN q.confidence >= p_confidence THEN 'easy-to-learn'
            ELSE 'hard-to-learn' END AS region,
       array_to_string(s.words, ' ') AS text
FROM by_sequence AS q
JOIN by_word AS w USING (seq_id)
JOIN sequences AS s ON s.run_id = (SELECT run_id FROM first_run) AND s.seq_id = q.seq_id;
