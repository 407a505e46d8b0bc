-- ranking_score(p_by, total_loss, mean_loss, label_quality): what sequences are ranked by, higher
-- = worse: total_loss or mean_loss as they are, label_quality negated (lowest first: most likely
-- mislabelled). The one list of rankings in SQL (lossdb.queries.core.RANKINGS in Python); every
-- ranking (top_sequences, top_label_sequences, compare, the metadata queries) orders by it.
CREATE OR REPLACE MACRO ranking_score(p_by, total_loss, mean_loss, label_quality) AS
    CASE p_by
        WHEN 'total_loss' THEN total_loss
        WHEN 'mean_loss' THEN mean_loss
        WHEN 'label_quality' THEN -label_quality
        ELSE error('p_by must be total_loss, mean_loss or label_quality, not ' || p_by)
    END;
