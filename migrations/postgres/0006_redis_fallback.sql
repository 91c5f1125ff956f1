-- What the app needs to keep working while Redis is unreachable, and to trust Redis again afterwards
-- (README, "Redis outage").

-- Throttle counters while Redis is unreachable (the SQLite backend has kept them in this table since 0002).
CREATE TABLE throttle_counters (
    key TEXT PRIMARY KEY,
    first BIGINT NOT NULL,
    second BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX throttle_counters_by_expiry ON throttle_counters (expires_at);

-- What Redis must be told before it is trusted again, about the sessions the database changed while Redis was
-- unreachable: `delete` a key (ended, rotated away, evicted, erased) or `restore` one (created or rotated to).
CREATE TABLE redis_repairs (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    action TEXT NOT NULL,
    at BIGINT NOT NULL
);

-- The outage in progress, if any (one row, id 1): when the app first and last found Redis unreachable.
CREATE TABLE redis_outages (
    id INTEGER PRIMARY KEY,
    started_at BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL
);
