-- Consent (GDPR article 7) to what a second factor processes, and where a session came from.

-- Each consent the user gave: to what (`purpose`: `totp`, `sms`), the version of the text they were shown and its
-- SHA-256, when, from which address and user agent, and when they withdrew it (if they did).
CREATE TABLE consents (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    version TEXT NOT NULL,
    text_sha256 TEXT NOT NULL,
    given_at BIGINT NOT NULL,
    ip TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    withdrawn_at BIGINT
);

CREATE INDEX consents_by_user ON consents (user_id, purpose);

-- The location a trusted proxy reported for the session's client (empty: none said).
ALTER TABLE user_sessions ADD COLUMN country TEXT NOT NULL DEFAULT '';
ALTER TABLE user_sessions ADD COLUMN region TEXT NOT NULL DEFAULT '';
ALTER TABLE user_sessions ADD COLUMN city TEXT NOT NULL DEFAULT '';

-- The countries each known device signed in from (comma separated), for the `new_country` risk signal.
ALTER TABLE user_devices ADD COLUMN countries TEXT NOT NULL DEFAULT '';

-- The location of an event's client, as JSON text (empty: unknown), with the rest of its personal data.
ALTER TABLE security_event_personal ADD COLUMN location TEXT NOT NULL DEFAULT '';

-- Appending events as 0007 does, the location now among the personal data: the digest covers it when known,
-- personal_digest = SHA-256(salt "\n" ip "\n" user agent ["\n" location]), so digests made before stay the same.
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
        appended := appended + 1;
    END LOOP;
    RETURN appended;
END;
$$;
