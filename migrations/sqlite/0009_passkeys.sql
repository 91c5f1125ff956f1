-- 0009: passkeys (WebAuthn credentials). One statement per `;` at a line end; times are Unix seconds.

-- A passkey is an `mfa_configurations` row of kind 'webauthn' (so enabling, removing, listing and the sessions
-- made with it work as for every factor); these columns hold what only a passkey has: its credential id
-- (base64url, unique across users), its COSE public key, the signature counter last seen, the transports the
-- browser reported (comma separated), the backup flags (eligible: a synced passkey; state: backed up now), the
-- authenticator model's AAGUID (hex) and when it was last used.
ALTER TABLE mfa_configurations ADD COLUMN credential_id TEXT;
ALTER TABLE mfa_configurations ADD COLUMN public_key BLOB;
ALTER TABLE mfa_configurations ADD COLUMN sign_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE mfa_configurations ADD COLUMN transports TEXT NOT NULL DEFAULT '';
ALTER TABLE mfa_configurations ADD COLUMN backup_eligible INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mfa_configurations ADD COLUMN backup_state INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mfa_configurations ADD COLUMN aaguid TEXT NOT NULL DEFAULT '';
ALTER TABLE mfa_configurations ADD COLUMN last_used_at BIGINT;
CREATE UNIQUE INDEX mfa_configurations_by_credential ON mfa_configurations (credential_id);

-- Each user's WebAuthn user handle: 32 random bytes (base64url), made at their first passkey registration, so an
-- authenticator never learns the email or the user id.
CREATE TABLE webauthn_user_handles (
    user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    handle TEXT NOT NULL UNIQUE
);

-- WebAuthn challenges: the SHA-256 of each (hex), what it is for ('register', 'login': a login challenge's second
-- factor, 'passwordless'), whose (none for passwordless), what it is bound to (the session that registers, the
-- login challenge's storage key), the name for a new passkey. Single use (taken by deleting the row), 5 minutes.
CREATE TABLE webauthn_challenges (
    challenge_hash TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    binding TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX webauthn_challenges_by_expiry ON webauthn_challenges (expires_at);
