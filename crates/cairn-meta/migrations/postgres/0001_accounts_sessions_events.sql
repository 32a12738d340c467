-- Accounts, users, sign-in sessions, emailed tokens, sign-in throttling, events and
-- instance secrets. Must stay logically identical to the SQLite migration of the same number.

CREATE TABLE accounts (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL,
    region      TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE users (
    id                   UUID PRIMARY KEY,
    account_id           UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    email                TEXT NOT NULL UNIQUE,
    name                 TEXT NOT NULL,
    role                 TEXT NOT NULL,
    status               TEXT NOT NULL,
    password_hash        TEXT,
    created_at           TIMESTAMPTZ NOT NULL,
    activated_at         TIMESTAMPTZ,
    password_changed_at  TIMESTAMPTZ
);
CREATE INDEX users_account ON users (account_id);

CREATE TABLE sessions (
    id            UUID PRIMARY KEY,
    token_hash    BYTEA NOT NULL UNIQUE,
    user_id       UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    account_id    UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at    TIMESTAMPTZ NOT NULL,
    last_seen_at  TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL,
    ip            TEXT,
    user_agent    TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE email_tokens (
    id          UUID PRIMARY KEY,
    token_hash  BYTEA NOT NULL UNIQUE,
    user_id     UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ
);
CREATE INDEX email_tokens_user ON email_tokens (user_id, purpose);

CREATE TABLE sign_in_failures (
    id           UUID PRIMARY KEY,
    email        TEXT NOT NULL,
    ip           TEXT,
    occurred_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX sign_in_failures_email ON sign_in_failures (email, occurred_at);
CREATE INDEX sign_in_failures_ip ON sign_in_failures (ip, occurred_at);

CREATE TABLE events (
    id             UUID PRIMARY KEY,
    account_id     UUID REFERENCES accounts (id) ON DELETE CASCADE,
    category       TEXT NOT NULL,
    kind           TEXT NOT NULL,
    outcome        TEXT NOT NULL,
    actor_user_id  UUID,
    actor_email    TEXT,
    ip             TEXT,
    user_agent     TEXT,
    occurred_at    TIMESTAMPTZ NOT NULL,
    details        JSONB NOT NULL
);
CREATE INDEX events_account_time ON events (account_id, category, occurred_at, id);

CREATE TABLE instance_secrets (
    name        TEXT PRIMARY KEY,
    value       BYTEA NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
