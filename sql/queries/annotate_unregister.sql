-- annotate_unregister: forget the record of metadata table $name.
DELETE FROM annotations WHERE name = $name;
