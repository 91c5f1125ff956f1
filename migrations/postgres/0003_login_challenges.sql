-- 0003: login challenges: after the password, a user with a second factor gets a challenge instead of a session.
-- Stored under the SHA-256 of its id (never the id), single use (`used_at`), dead after `expires_at` or too many
-- wrong codes (`failures`). One statement per `;` at a line end; times are Unix seconds.

CREATE TABLE login_challenges (
    id_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    methods TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    failures BIGINT NOT NULL DEFAULT 0,
    used_at BIGINT,
    device_hash TEXT NOT NULL DEFAULT ''
);

CREATE INDEX login_challenges_by_expiry ON login_challenges (expires_at);
