-- group_word_dynamics(p_group): training dynamics per labelled word across the runs of group
-- p_group (dataset cartography, Swayamdipta et al. 2020; AUM, Pleiss et al. 2020):
-- confidence (mean gold-label probability), variability (its population standard
-- deviation), correctness (share of runs predicting the gold label), forgetting (events:
-- right at one step, wrong at the next), aum (mean margin of the gold label's log-probability
-- over the strongest other label's), and the predictions in step order.
CREATE OR REPLACE MACRO group_word_dynamics(p_group) AS TABLE
SELECT seq_id, word_index, any_value(label) AS label, count(*) AS n_runs,
       avg(p_gold) AS confidence, stddev_pop(p_gold) AS variability, avg(correct::INTEGER) AS correctness,
       count(*) FILTER (WHERE forgotten) AS forgetting, avg(margin) AS aum,
       list(pred ORDER BY step, run_id) AS preds
FROM group_word_steps(p_group)
GROUP BY seq_id, word_index;
