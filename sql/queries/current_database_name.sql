-- current_database_name: the database statements without a prefix read.
SELECT current_database() AS name;
