-- 0002: the devices a user logged in with (their device cookie, stored hashed), which feed the login risk signals
-- and exempt a known device from the per-account password limit. (Throttle counters live in Redis on this backend.)
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
