-- 0002: the devices a user logged in with (their device cookie, stored hashed), which feed the login risk signals
-- and exempt a known device from the per-account password limit; and the throttle counters (Redis holds them on
-- the other backend), each a pair of numbers that is forgotten at `expires_at`.
-- One statement per `;` at a line end (the app runs them one by one); times are Unix seconds.

CREATE TABLE user_devices (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    device_hash TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    ips TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    first_seen_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, device_hash)
);

CREATE TABLE throttle_counters (
    key TEXT PRIMARY KEY,
    first BIGINT NOT NULL,
    second BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX throttle_counters_by_expiry ON throttle_counters (expires_at);
