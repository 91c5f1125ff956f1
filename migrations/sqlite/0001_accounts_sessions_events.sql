-- 0001: accounts, second-factor configurations, session records and the security-event trail (SQLite: the same tables, INTEGER for booleans, BLOB for bytes).
-- One statement per `;` at a line end (the app runs them one by one); times are Unix seconds.

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT UNIQUE,
    external_id TEXT UNIQUE,
    password_hash TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    password_changed_at BIGINT
);

CREATE TABLE mfa_configurations (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    name TEXT,
    secret_ciphertext BLOB,
    key_id TEXT,
    phone TEXT,
    last_accepted_step BIGINT,
    enabled INTEGER NOT NULL DEFAULT 0,
    consecutive_failures BIGINT NOT NULL DEFAULT 0,
    disabled_at BIGINT,
    created_at BIGINT NOT NULL,
    confirmed_at BIGINT
);

CREATE INDEX mfa_configurations_by_user ON mfa_configurations (user_id);

CREATE TABLE user_sessions (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    aal BIGINT NOT NULL,
    method TEXT NOT NULL,
    auth_time BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ended_at BIGINT,
    end_reason TEXT,
    ip TEXT,
    user_agent TEXT,
    device_hash TEXT,
    device_label TEXT,
    risk TEXT NOT NULL DEFAULT ''
);

CREATE INDEX user_sessions_by_user ON user_sessions (user_id, ended_at);

CREATE TABLE security_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT,
    kind TEXT NOT NULL,
    at BIGINT NOT NULL,
    session_id TEXT,
    detail TEXT NOT NULL DEFAULT '{}',
    personal_digest TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE
);

CREATE INDEX security_events_by_user ON security_events (user_id, id);

CREATE TABLE security_event_personal (
    event_id BIGINT PRIMARY KEY REFERENCES security_events (id) ON DELETE CASCADE,
    salt BLOB NOT NULL,
    ip TEXT,
    user_agent TEXT
);
