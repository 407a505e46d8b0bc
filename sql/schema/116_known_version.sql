-- known_version(p_run, p_labels): true where run p_run has label version p_labels (or p_labels is
-- 'gold', or there is no such complete run, whose rows every macro finds empty anyway); else an
-- error naming both. The macros that read a version's labels (token_labels, entity_tag_codes)
-- check with it, so a misspelt version is an error in any client's SQL, not gold's numbers in
-- its place (a LEFT JOIN to a version with no rows falls back to gold).
CREATE OR REPLACE MACRO known_version(p_run, p_labels) AS
CASE WHEN p_labels = 'gold'
          OR EXISTS (SELECT 1 FROM label_versions WHERE run_id = p_run AND version = p_labels)
          OR NOT EXISTS (SELECT 1 FROM complete_runs WHERE run_id = p_run)
     THEN true
     ELSE error('run ''' || p_run || ''' has no label version ''' || p_labels
                || ''': SELECT version FROM label_versions WHERE run_id = ''' || p_run || ''' lists its versions')
END;
