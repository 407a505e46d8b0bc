-- store_size: the blocks the open store's header says its file holds, and their size (the file is
-- a 12 KiB header followed by total_blocks blocks).
SELECT total_blocks, block_size FROM pragma_database_size() WHERE database_name = current_database();
