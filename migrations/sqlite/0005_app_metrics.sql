-- The app's own counters where no Redis is configured (on Redis + Postgres they live in Redis): one row per
-- counter, named as its Prometheus series (e.g. `event_write_failures_total{kind="login_failed"}`).
CREATE TABLE app_metrics (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
