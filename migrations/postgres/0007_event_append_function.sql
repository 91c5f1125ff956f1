-- Appending security events in one statement (one round trip for all the events of a call) instead of a
-- transaction of lock, chain head, account checks and two inserts per event. The chain is the one
-- components/api/src/store/events.rs documents and computes on SQLite:
--   personal_digest = SHA-256(salt "\n" ip "\n" user agent)
--   hash = SHA-256(prev_hash "\n" kind "\n" user "\n" at "\n" session "\n" detail "\n" personal_digest)
-- `batch` is a JSON array of {kind, user_id, session_id, detail (the JSON text that is hashed), salt (hex), ip,
-- user_agent}. The personal data of an event about an account that no longer exists is not kept (empty, as the
-- digest is then computed). Each statement inside takes its own snapshot (READ COMMITTED), so the chain head is
-- read after the lock is held. Returns how many events were appended.
CREATE FUNCTION append_security_events(lock_key BIGINT, at_time BIGINT, batch TEXT) RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    prev TEXT;
    event JSONB;
    owner TEXT;
    ip TEXT;
    agent TEXT;
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
        IF owner IS NOT NULL AND NOT EXISTS (SELECT 1 FROM users WHERE id = owner) THEN
            ip := '';
            agent := '';
        END IF;
        salt := decode(event->>'salt', 'hex');
        digest := encode(sha256(salt || convert_to(E'\n' || ip || E'\n' || agent, 'UTF8')), 'hex');
        detail := event->>'detail';
        INSERT INTO security_events (user_id, kind, at, session_id, detail, personal_digest, prev_hash, hash)
        VALUES (owner, event->>'kind', at_time, event->>'session_id', detail, digest, prev,
            encode(sha256(convert_to(concat_ws(E'\n', prev, event->>'kind', coalesce(owner, ''), at_time::TEXT,
                coalesce(event->>'session_id', ''), detail, digest), 'UTF8')), 'hex'))
        RETURNING id, hash INTO new_id, prev;
        INSERT INTO security_event_personal (event_id, salt, ip, user_agent) VALUES (new_id, salt, ip, agent);
        appended := appended + 1;
    END LOOP;
    RETURN appended;
END;
$$;
