-- 0004: everything the second factors need besides the authenticators themselves. One statement per `;` at a line
-- end; times are Unix seconds.

-- The factor (authenticator or phone) a session was established or last stepped up with ('' for none), so removing
-- the factor ends those sessions.
ALTER TABLE user_sessions ADD COLUMN factor_id TEXT NOT NULL DEFAULT '';

-- Backup codes: keyed hashes only (HMAC-SHA-256 under the code pepper over a per-code random salt and the code).
-- A code is consumed by deleting its row: only one request can.
CREATE TABLE backup_codes (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    salt BLOB NOT NULL,
    hash BLOB NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX backup_codes_by_user ON backup_codes (user_id);

-- The per-user second-factor lockout (session-policy's second-factor-state), updated by compare-and-set on
-- `version`; `disabled_at` is set after too many consecutive failures and cleared only by a reset.
CREATE TABLE second_factor_states (
    user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    window_failures BIGINT NOT NULL,
    window_start BIGINT NOT NULL,
    consecutive_failures BIGINT NOT NULL,
    lockouts BIGINT NOT NULL,
    locked_until BIGINT NOT NULL,
    disabled_at BIGINT,
    version BIGINT NOT NULL
);

-- Devices (the SHA-256 of their device cookie's id) that may skip the second factor for a user until expires_at.
CREATE TABLE trusted_devices (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    device_hash TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    UNIQUE (user_id, device_hash)
);

-- SMS codes, one per binding (the login challenge, phone enrollment or step-up it was sent for), as keyed hashes
-- bound to that binding; dead after expires_at, use, or too many wrong checks.
CREATE TABLE sms_codes (
    binding TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    factor_id TEXT NOT NULL,
    code_hash BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    failures BIGINT NOT NULL DEFAULT 0,
    used_at BIGINT
);

CREATE INDEX sms_codes_by_expiry ON sms_codes (expires_at);
