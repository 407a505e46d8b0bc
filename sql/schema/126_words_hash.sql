-- words_hash(p_words): the stable key of a sequence's text, the same in every run and for every
-- model: md5 of the words joined by U+001F. ingest computes it in Python while it stages
-- (lossdb.ingest.pipeline.words_hash, the same rule; tests/test_surface.py checks they agree);
-- SQL that matches sequences by their words (annotate --match text) calls this.
CREATE OR REPLACE MACRO words_hash(p_words) AS md5(array_to_string(p_words, chr(31)));
