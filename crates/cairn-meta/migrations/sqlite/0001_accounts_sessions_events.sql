-- Accounts, users, sign-in sessions, emailed tokens, sign-in throttling, events and
-- instance secrets. SQLite dialect: ids are 16-byte BLOBs (sqlx's UUID encoding), instants
-- are RFC 3339 TEXT in UTC (which sorts chronologically), JSON is TEXT.

CREATE TABLE accounts (
    id          BLOB PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    region      TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE users (
    id                   BLOB PRIMARY KEY NOT NULL,
    account_id           BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    email                TEXT NOT NULL UNIQUE,
    name                 TEXT NOT NULL,
    role                 TEXT NOT NULL,
    status               TEXT NOT NULL,
    password_hash        TEXT,
    created_at           TEXT NOT NULL,
    activated_at         TEXT,
    password_changed_at  TEXT
);
CREATE INDEX users_account ON users (account_id);

CREATE TABLE sessions (
    id            BLOB PRIMARY KEY NOT NULL,
    token_hash    BLOB NOT NULL UNIQUE,
    user_id       BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    account_id    BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at    TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    ip            TEXT,
    user_agent    TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE email_tokens (
    id          BLOB PRIMARY KEY NOT NULL,
    token_hash  BLOB NOT NULL UNIQUE,
    user_id     BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT
);
CREATE INDEX email_tokens_user ON email_tokens (user_id, purpose);

CREATE TABLE sign_in_failures (
    id           BLOB PRIMARY KEY NOT NULL,
    email        TEXT NOT NULL,
    ip           TEXT,
    occurred_at  TEXT NOT NULL
);
CREATE INDEX sign_in_failures_email ON sign_in_failures (email, occurred_at);
CREATE INDEX sign_in_failures_ip ON sign_in_failures (ip, occurred_at);

CREATE TABLE events (
    id             BLOB PRIMARY KEY NOT NULL,
    account_id     BLOB REFERENCES accounts (id) ON DELETE CASCADE,
    category       TEXT NOT NULL,
    kind           TEXT NOT NULL,
    outcome        TEXT NOT NULL,
    actor_user_id  BLOB,
    actor_email    TEXT,
    ip             TEXT,
    user_agent     TEXT,
    occurred_at    TEXT NOT NULL,
    details        TEXT NOT NULL
);
CREATE INDEX events_account_time ON events (account_id, category, occurred_at, id);

CREATE TABLE instance_secrets (
    name        TEXT PRIMARY KEY NOT NULL,
    value       BLOB NOT NULL,
    created_at  TEXT NOT NULL
);
