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
