-- store_size: the blocks of the open store in use, and their size: its file holds at least a
-- 12 KiB header and that many blocks (free blocks at its end are cut off, those between kept).
SELECT used_blocks, block_size FROM pragma_database_size() WHERE database_name = current_database();
