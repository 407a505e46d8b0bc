-- label_issue_words: the labelled words (first subwords) of the sequences $seq_ids of run $run
-- under label version $labels, in order: seq_id, word_index, word, label, probs (every class
-- probability, in the run's label_names order). lossdb.queries.rankings names the suspects.
SELECT t.seq_id, t.word_index, s.words[t.word_index + 1] AS word, t.label, t.probs
FROM token_labels($run, p_labels := $labels) AS t
JOIN sequences AS s ON s.run_id = $run AND s.seq_id = t.seq_id
WHERE t.label IS NOT NULL AND list_contains($seq_ids, t.seq_id)
ORDER BY t.seq_id, t.word_index;
