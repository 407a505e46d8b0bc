-- word_codes_missing: how many sequences rows lack their word-level tag codes (stores
-- written before sequences.label_codes / pred_codes existed).
SELECT count(*) FROM sequences WHERE label_codes IS NULL OR pred_codes IS NULL;
