-- replicate_run: the runs row of the replicated run, counts multiplied by $copies.
INSERT INTO runs
SELECT * REPLACE ($target AS run_id, n_sequences * $copies AS n_sequences, n_tokens * $copies AS n_tokens,
                  n_windowed * $copies AS n_windowed, n_truncated * $copies AS n_truncated)
FROM src.runs WHERE run_id = $run;
