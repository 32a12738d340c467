-- Backup tasks, their entities and tags, the job queue with its logs, and the snapshot
-- catalog with per-entity and per-user counters. SQLite dialect (see 0001): ids are BLOBs,
-- instants RFC 3339 TEXT, JSON TEXT, booleans INTEGER 0/1. Counters are BIGINT-sized.

CREATE TABLE tasks (
    id                         BLOB PRIMARY KEY NOT NULL,
    account_id                 BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    service                    TEXT NOT NULL,
    name                       TEXT NOT NULL,
    environment                TEXT NOT NULL,
    connection                 TEXT NOT NULL,
    api_limit_percent          INTEGER NOT NULL,
    index_for_search           INTEGER NOT NULL,
    frequency                  TEXT NOT NULL,
    hour_utc                   INTEGER NOT NULL,
    auto_activate              INTEGER NOT NULL,
    retain_auto_archived_days  INTEGER,
    region                     TEXT NOT NULL,
    -- OAuth tokens, encrypted by the caller; never stored in clear.
    token_ciphertext           BLOB,
    token_updated_at           TEXT,
    created_at                 TEXT NOT NULL,
    deleted_at                 TEXT
);
CREATE INDEX tasks_account ON tasks (account_id, created_at);
CREATE INDEX tasks_deleted ON tasks (deleted_at);

CREATE TABLE snapshots (
    id          BLOB PRIMARY KEY NOT NULL,
    account_id  BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    task_id     BLOB NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    job_id      BLOB,
    started_at  TEXT NOT NULL,
    taken_at    TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    items       BIGINT NOT NULL,
    bytes       BIGINT NOT NULL,
    added       BIGINT NOT NULL,
    updated     BIGINT NOT NULL,
    deleted     BIGINT NOT NULL
);
CREATE INDEX snapshots_task_time ON snapshots (task_id, taken_at);

CREATE TABLE entities (
    id                BLOB PRIMARY KEY NOT NULL,
    account_id        BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    task_id           BLOB NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    kind              TEXT NOT NULL,
    name              TEXT NOT NULL,
    external_id       TEXT NOT NULL,
    email             TEXT,
    status            TEXT NOT NULL,
    items             BIGINT NOT NULL,
    bytes             BIGINT NOT NULL,
    added             BIGINT NOT NULL,
    updated           BIGINT NOT NULL,
    deleted           BIGINT NOT NULL,
    cursor            TEXT,
    last_snapshot_id  BLOB REFERENCES snapshots (id) ON DELETE SET NULL,
    last_backup_at    TEXT,
    created_at        TEXT NOT NULL,
    deleted_at        TEXT,
    UNIQUE (task_id, kind, external_id)
);
CREATE INDEX entities_account_task ON entities (account_id, task_id, name);

CREATE TABLE tags (
    id              BLOB PRIMARY KEY NOT NULL,
    account_id      BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    limited_access  INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    UNIQUE (account_id, name)
);

CREATE TABLE entity_tags (
    entity_id  BLOB NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
    tag_id     BLOB NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (entity_id, tag_id)
);
CREATE INDEX entity_tags_tag ON entity_tags (tag_id);

CREATE TABLE snapshot_entities (
    snapshot_id  BLOB NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    entity_id    BLOB NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
    status       TEXT NOT NULL,
    items        BIGINT NOT NULL,
    bytes        BIGINT NOT NULL,
    added        BIGINT NOT NULL,
    updated      BIGINT NOT NULL,
    deleted      BIGINT NOT NULL,
    PRIMARY KEY (snapshot_id, entity_id)
);
CREATE INDEX snapshot_entities_entity ON snapshot_entities (entity_id);

CREATE TABLE snapshot_users (
    snapshot_id  BLOB NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    entity_id    BLOB NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
    user_key     TEXT NOT NULL,
    added        BIGINT NOT NULL,
    updated      BIGINT NOT NULL,
    deleted      BIGINT NOT NULL,
    PRIMARY KEY (snapshot_id, entity_id, user_key)
);

CREATE TABLE jobs (
    id                BLOB PRIMARY KEY NOT NULL,
    account_id        BLOB REFERENCES accounts (id) ON DELETE CASCADE,
    kind              TEXT NOT NULL,
    status            TEXT NOT NULL,
    task_id           BLOB REFERENCES tasks (id) ON DELETE SET NULL,
    snapshot_id       BLOB,
    -- Unique among non-NULL keys (NULLs are distinct), kept forever: a scheduled slot
    -- is enqueued once however often it is offered.
    dedupe_key        TEXT UNIQUE,
    params            TEXT NOT NULL,
    progress          TEXT NOT NULL,
    error             TEXT,
    attempts          INTEGER NOT NULL,
    max_attempts      INTEGER NOT NULL,
    cancel_requested  INTEGER NOT NULL,
    run_after         TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    started_at        TEXT,
    finished_at       TEXT,
    lease_owner       TEXT,
    lease_token       BLOB,
    lease_until       TEXT
);
CREATE INDEX jobs_claim ON jobs (status, run_after);
CREATE INDEX jobs_account ON jobs (account_id, created_at);
CREATE INDEX jobs_task ON jobs (task_id, created_at);

CREATE TABLE job_logs (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id   BLOB NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    at       TEXT NOT NULL,
    level    TEXT NOT NULL,
    message  TEXT NOT NULL
);
CREATE INDEX job_logs_job ON job_logs (job_id, id);
