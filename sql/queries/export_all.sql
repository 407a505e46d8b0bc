-- export_all: every seq_id of run $run, in order.
SELECT seq_id FROM sequences WHERE run_id = $run ORDER BY seq_id;
