-- How many security events of each kind were ever written, for `GET /v1/admin/metrics`
-- (`mfa_security_events_total{kind}`): counted in the transaction that appends them, so the count is exact, never
-- goes down (erasure removes no event), and costs no round trip; counting the events table at each scrape would read
-- all of it. Seeded from the events already written.
CREATE TABLE security_event_counts (
    kind TEXT PRIMARY KEY,
    total BIGINT NOT NULL
);
INSERT INTO security_event_counts (kind, total) SELECT kind, count(*) FROM security_events GROUP BY kind;

-- The append function of 0008, also counting each event by kind (under the same lock).
CREATE OR REPLACE FUNCTION append_security_events(lock_key BIGINT, at_time BIGINT, batch TEXT) RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    prev TEXT;
    event JSONB;
    owner TEXT;
    ip TEXT;
    agent TEXT;
    place TEXT;
    salt BYTEA;
    digest TEXT;
    detail TEXT;
    appended BIGINT := 0;
    new_id BIGINT;
BEGIN
    PERFORM pg_advisory_xact_lock(lock_key);
    SELECT hash INTO prev FROM security_events ORDER BY id DESC LIMIT 1;
    prev := coalesce(prev, repeat('0', 64));
    FOR event IN SELECT value FROM jsonb_array_elements(batch::jsonb) LOOP
        owner := event->>'user_id';
        ip := coalesce(event->>'ip', '');
        agent := coalesce(event->>'user_agent', '');
        place := coalesce(event->>'location', '');
        IF owner IS NOT NULL AND NOT EXISTS (SELECT 1 FROM users WHERE id = owner) THEN
            ip := '';
            agent := '';
            place := '';
        END IF;
        salt := decode(event->>'salt', 'hex');
        digest := encode(sha256(salt || convert_to(E'\n' || ip || E'\n' || agent
            || CASE WHEN place = '' THEN '' ELSE E'\n' || place END, 'UTF8')), 'hex');
        detail := event->>'detail';
        INSERT INTO security_events (user_id, kind, at, session_id, detail, personal_digest, prev_hash, hash)
        VALUES (owner, event->>'kind', at_time, event->>'session_id', detail, digest, prev,
            encode(sha256(convert_to(concat_ws(E'\n', prev, event->>'kind', coalesce(owner, ''), at_time::TEXT,
                coalesce(event->>'session_id', ''), detail, digest), 'UTF8')), 'hex'))
        RETURNING id, hash INTO new_id, prev;
        INSERT INTO security_event_personal (event_id, salt, ip, user_agent, location)
        VALUES (new_id, salt, ip, agent, place);
        INSERT INTO security_event_counts (kind, total) VALUES (event->>'kind', 1)
        ON CONFLICT (kind) DO UPDATE SET total = security_event_counts.total + 1;
        appended := appended + 1;
    END LOOP;
    RETURN appended;
END;
$$;
