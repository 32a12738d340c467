-- When discovery archived an entity (a Dropbox member or team folder gone from the team),
-- so the task's "retain auto-archived backups N days" can expire it; NULL while it is not
-- archived. Entities already archived when this runs start their retention now (the
-- instant in the format the store writes: RFC 3339, UTC offset spelled +00:00).

ALTER TABLE entities ADD COLUMN archived_at TEXT;

UPDATE entities SET archived_at = strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')
WHERE status = 'archived';
