-- annotate_cleanup: drop the temporary tables of an annotate load.
DROP TABLE IF EXISTS temp.lossdb_annotation_keyed;
DROP TABLE IF EXISTS temp.lossdb_annotation_file;
