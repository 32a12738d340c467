-- When discovery archived an entity (a Dropbox member or team folder gone from the team),
-- so the task's "retain auto-archived backups N days" can expire it; NULL while it is not
-- archived. Entities already archived when this runs start their retention now. Must stay
-- logically identical to the SQLite migration of the same number.

ALTER TABLE entities ADD COLUMN archived_at TIMESTAMPTZ;

UPDATE entities SET archived_at = now() WHERE status = 'archived';
