-- How many security events of each kind were ever written, for `GET /v1/admin/metrics`
-- (`mfa_security_events_total{kind}`): counted in the transaction that appends them, so the count is exact, never
-- goes down (erasure removes no event), and costs no round trip; counting the events table at each scrape would read
-- all of it. Seeded from the events already written.
CREATE TABLE security_event_counts (
    kind TEXT PRIMARY KEY,
    total BIGINT NOT NULL
);
INSERT INTO security_event_counts (kind, total) SELECT kind, count(*) FROM security_events GROUP BY kind;
-- The app counts each event in the transaction that appends it (components/api/src/store/events.rs).
