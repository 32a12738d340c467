-- Backup tasks, their entities and tags, the job queue with its logs, and the snapshot
-- catalog with per-entity and per-user counters. Must stay logically identical to the
-- SQLite migration of the same number.

CREATE TABLE tasks (
    id                         UUID PRIMARY KEY,
    account_id                 UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    service                    TEXT NOT NULL,
    name                       TEXT NOT NULL,
    environment                TEXT NOT NULL,
    connection                 TEXT NOT NULL,
    api_limit_percent          INTEGER NOT NULL,
    index_for_search           BOOLEAN NOT NULL,
    frequency                  TEXT NOT NULL,
    hour_utc                   INTEGER NOT NULL,
    auto_activate              BOOLEAN NOT NULL,
    retain_auto_archived_days  INTEGER,
    region                     TEXT NOT NULL,
    -- OAuth tokens, encrypted by the caller; never stored in clear.
    token_ciphertext           BYTEA,
    token_updated_at           TIMESTAMPTZ,
    created_at                 TIMESTAMPTZ NOT NULL,
    deleted_at                 TIMESTAMPTZ
);
CREATE INDEX tasks_account ON tasks (account_id, created_at);
CREATE INDEX tasks_deleted ON tasks (deleted_at);

CREATE TABLE snapshots (
    id          UUID PRIMARY KEY,
    account_id  UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    task_id     UUID NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    job_id      UUID,
    started_at  TIMESTAMPTZ NOT NULL,
    taken_at    TIMESTAMPTZ NOT NULL,
    outcome     TEXT NOT NULL,
    items       BIGINT NOT NULL,
    bytes       BIGINT NOT NULL,
    added       BIGINT NOT NULL,
    updated     BIGINT NOT NULL,
    deleted     BIGINT NOT NULL
);
CREATE INDEX snapshots_task_time ON snapshots (task_id, taken_at);

CREATE TABLE entities (
    id                UUID PRIMARY KEY,
    account_id        UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    task_id           UUID NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
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
    cursor            JSONB,
    last_snapshot_id  UUID REFERENCES snapshots (id) ON DELETE SET NULL,
    last_backup_at    TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL,
    deleted_at        TIMESTAMPTZ,
    UNIQUE (task_id, kind, external_id)
);
CREATE INDEX entities_account_task ON entities (account_id, task_id, name);

CREATE TABLE tags (
    id              UUID PRIMARY KEY,
    account_id      UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    limited_access  BOOLEAN NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (account_id, name)
);

CREATE TABLE entity_tags (
    entity_id  UUID NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
    tag_id     UUID NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (entity_id, tag_id)
);
CREATE INDEX entity_tags_tag ON entity_tags (tag_id);

CREATE TABLE snapshot_entities (
    snapshot_id  UUID NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    entity_id    UUID NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
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
    snapshot_id  UUID NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    entity_id    UUID NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
    user_key     TEXT NOT NULL,
    added        BIGINT NOT NULL,
    updated      BIGINT NOT NULL,
    deleted      BIGINT NOT NULL,
    PRIMARY KEY (snapshot_id, entity_id, user_key)
);

CREATE TABLE jobs (
    id                UUID PRIMARY KEY,
    account_id        UUID REFERENCES accounts (id) ON DELETE CASCADE,
    kind              TEXT NOT NULL,
    status            TEXT NOT NULL,
    task_id           UUID REFERENCES tasks (id) ON DELETE SET NULL,
    snapshot_id       UUID,
    -- Unique among non-NULL keys (NULLs are distinct), kept forever: a scheduled slot
    -- is enqueued once however often it is offered.
    dedupe_key        TEXT UNIQUE,
    params            JSONB NOT NULL,
    progress          JSONB NOT NULL,
    error             TEXT,
    attempts          INTEGER NOT NULL,
    max_attempts      INTEGER NOT NULL,
    cancel_requested  BOOLEAN NOT NULL,
    run_after         TIMESTAMPTZ NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    started_at        TIMESTAMPTZ,
    finished_at       TIMESTAMPTZ,
    lease_owner       TEXT,
    lease_token       UUID,
    lease_until       TIMESTAMPTZ
);
CREATE INDEX jobs_claim ON jobs (status, run_after);
CREATE INDEX jobs_account ON jobs (account_id, created_at);
CREATE INDEX jobs_task ON jobs (task_id, created_at);

CREATE TABLE job_logs (
    id       BIGSERIAL PRIMARY KEY,
    job_id   UUID NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    at       TIMESTAMPTZ NOT NULL,
    level    TEXT NOT NULL,
    message  TEXT NOT NULL
);
CREATE INDEX job_logs_job ON job_logs (job_id, id);
