-- token_labels under label version $labels of run $run: every row read.
SELECT count(*), sum(loss) FROM token_labels($run, p_labels := $labels);
