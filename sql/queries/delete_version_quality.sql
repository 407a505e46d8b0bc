-- delete_version_quality: remove the stored scores of label version $version of run $run
-- (before refresh_version_quality writes them anew).
DELETE FROM version_quality WHERE run_id = $run AND version = $version;
