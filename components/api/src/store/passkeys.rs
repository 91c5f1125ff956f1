//! Passkeys as stored: `mfa_configurations` rows of kind `webauthn` (what every factor has: id, owner, name,
//! enabled, times) with their credential id, COSE public key, signature counter, transports, backup flags and
//! AAGUID; each user's WebAuthn user handle (`webauthn_user_handles`); and the WebAuthn challenges
//! (`webauthn_challenges`), stored as their SHA-256 and taken by deleting the row, so each is used at most once.

use super::sql::{Db, DbError, FromRow, SqlValue, texts};

/// A passkey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passkey {
    /// Its id (the factor id).
    pub id: String,
    /// Whose.
    pub user_id: String,
    /// The name the user gave it.
    pub name: String,
    /// The credential id, base64url.
    pub credential_id: String,
    /// The COSE public key.
    pub public_key: Vec<u8>,
    /// The signature counter last seen.
    pub sign_count: u32,
    /// Transports the browser reported (`internal`, `hybrid`, `usb`...), comma separated.
    pub transports: String,
    /// A synced passkey.
    pub backup_eligible: bool,
    /// Backed up when last seen.
    pub backup_state: bool,
    /// The authenticator model (hex; all zeros when it does not say).
    pub aaguid: String,
    /// Whether it is enabled (registration enables it once what that changes is done).
    pub enabled: bool,
    /// When it was registered.
    pub created_at: i64,
    /// When it was last used to sign in or step up.
    pub last_used_at: Option<i64>,
}

const COLUMNS: &str = "SELECT id, user_id, name, credential_id, public_key, sign_count, transports, backup_eligible, \
                       backup_state, aaguid, enabled, created_at, last_used_at FROM mfa_configurations";

impl FromRow for Passkey {
    fn from_row(row: &[SqlValue]) -> Option<Self> {
        match row {
            [id, user, name, credential, key, count, transports, eligible, state, aaguid, enabled, created, used] => {
                Some(Self {
                    id: id.as_str()?.to_owned(),
                    user_id: user.as_str()?.to_owned(),
                    name: name.as_str().unwrap_or_default().to_owned(),
                    credential_id: credential.as_str()?.to_owned(),
                    public_key: match key {
                        SqlValue::Blob(bytes) => bytes.clone(),
                        _ => return None,
                    },
                    sign_count: u32::try_from(count.as_i64()?).unwrap_or(u32::MAX),
                    transports: transports.as_str().unwrap_or_default().to_owned(),
                    backup_eligible: eligible.as_bool()?,
                    backup_state: state.as_bool()?,
                    aaguid: aaguid.as_str().unwrap_or_default().to_owned(),
                    enabled: enabled.as_bool()?,
                    created_at: created.as_i64()?,
                    last_used_at: used.as_i64(),
                })
            }
            _ => None,
        }
    }
}

/// Stores a new passkey, not yet enabled; [`DbError::Conflict`] when its credential id is already registered.
pub fn insert(db: &Db, passkey: &Passkey) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO mfa_configurations (id, user_id, kind, name, credential_id, public_key, sign_count, transports, \
         backup_eligible, backup_state, aaguid, enabled, created_at) \
         VALUES ($1, $2, 'webauthn', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &[
            SqlValue::Text(passkey.id.clone()),
            SqlValue::Text(passkey.user_id.clone()),
            SqlValue::Text(passkey.name.clone()),
            SqlValue::Text(passkey.credential_id.clone()),
            SqlValue::Blob(passkey.public_key.clone()),
            SqlValue::Int(i64::from(passkey.sign_count)),
            SqlValue::Text(passkey.transports.clone()),
            SqlValue::Bool(passkey.backup_eligible),
            SqlValue::Bool(passkey.backup_state),
            SqlValue::Text(passkey.aaguid.clone()),
            SqlValue::Bool(false),
            SqlValue::Int(passkey.created_at),
        ],
    )?;
    Ok(())
}

/// The user's passkeys (enabled or not), oldest first.
pub fn list(db: &Db, user_id: &str) -> Result<Vec<Passkey>, DbError> {
    db.rows(&format!("{COLUMNS} WHERE user_id = $1 AND kind = 'webauthn' ORDER BY created_at, id"), &texts(&[user_id]))
}

/// The enabled passkey with credential id `credential_id` (base64url), whoever's it is.
pub fn by_credential(db: &Db, credential_id: &str) -> Result<Option<Passkey>, DbError> {
    db.row(
        &format!("{COLUMNS} WHERE credential_id = $1 AND kind = 'webauthn' AND enabled = $2"),
        &[SqlValue::Text(credential_id.to_owned()), SqlValue::Bool(true)],
    )
}

/// What a use of a passkey leaves behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Use {
    /// The counter now.
    pub sign_count: u32,
    /// Whether it is backup eligible now.
    pub backup_eligible: bool,
    /// Whether it is backed up now.
    pub backup_state: bool,
    /// When.
    pub at: i64,
}

/// Records `used` for passkey `id`, unless a higher counter was recorded meanwhile (the stored counter only ever
/// goes up); whether it was recorded.
pub fn record_use(db: &Db, id: &str, used: &Use) -> Result<bool, DbError> {
    let changed = db.execute(
        "UPDATE mfa_configurations SET sign_count = $1, backup_eligible = $2, backup_state = $3, last_used_at = $4 \
         WHERE id = $5 AND sign_count <= $1",
        &[
            SqlValue::Int(i64::from(used.sign_count)),
            SqlValue::Bool(used.backup_eligible),
            SqlValue::Bool(used.backup_state),
            SqlValue::Int(used.at),
            SqlValue::Text(id.to_owned()),
        ],
    )?;
    Ok(changed == 1)
}

/// The user's WebAuthn user handle, if they have one.
pub fn user_handle(db: &Db, user_id: &str) -> Result<Option<String>, DbError> {
    let row: Option<(String,)> =
        db.row("SELECT handle FROM webauthn_user_handles WHERE user_id = $1", &texts(&[user_id]))?;
    Ok(row.map(|(handle,)| handle))
}

/// The user's handle: the one they have, else `new` stored as theirs (two first registrations at once keep one).
pub fn user_handle_or(db: &Db, user_id: &str, new: &str) -> Result<String, DbError> {
    if let Some(handle) = user_handle(db, user_id)? {
        return Ok(handle);
    }
    match db.execute("INSERT INTO webauthn_user_handles (user_id, handle) VALUES ($1, $2)", &texts(&[user_id, new])) {
        Ok(_) | Err(DbError::Conflict) => {}
        Err(error) => return Err(error),
    }
    user_handle(db, user_id)?.ok_or(DbError::Gone)
}

/// What a WebAuthn challenge is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CeremonyRecord {
    /// `register`, `login` or `passwordless`.
    pub purpose: String,
    /// Whose (none for passwordless).
    pub user_id: Option<String>,
    /// The session registering, or the login challenge's key.
    pub binding: String,
    /// The new passkey's name (registration).
    pub name: String,
}

/// Stores a challenge under `key` (the SHA-256 of its text) until `expires_at`, sweeping expired ones and voiding
/// any other challenge bound to the same thing (one live challenge per registering session, login challenge or
/// step-up).
pub fn insert_challenge(db: &Db, key: &str, record: &CeremonyRecord, now: i64, expires_at: i64) -> Result<(), DbError> {
    db.execute("DELETE FROM webauthn_challenges WHERE expires_at <= $1", &[SqlValue::Int(now)])?;
    if !record.binding.is_empty() {
        db.execute(
            "DELETE FROM webauthn_challenges WHERE purpose = $1 AND binding = $2",
            &texts(&[&record.purpose, &record.binding]),
        )?;
    }
    db.execute(
        "INSERT INTO webauthn_challenges (challenge_hash, purpose, user_id, binding, name, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            SqlValue::Text(key.to_owned()),
            SqlValue::Text(record.purpose.clone()),
            record.user_id.clone().map_or(SqlValue::Null, SqlValue::Text),
            SqlValue::Text(record.binding.clone()),
            SqlValue::Text(record.name.clone()),
            SqlValue::Int(now),
            SqlValue::Int(expires_at),
        ],
    )?;
    Ok(())
}

/// Takes the live challenge under `key`: deletes it and answers what it was for, or none (unknown, used, expired).
/// Of two requests with one challenge, one gets it.
pub fn take_challenge(db: &Db, key: &str, now: i64) -> Result<Option<CeremonyRecord>, DbError> {
    let taken: Option<(String, Option<String>, String, String, i64)> = db.row(
        "DELETE FROM webauthn_challenges WHERE challenge_hash = $1 \
         RETURNING purpose, user_id, binding, name, expires_at",
        &texts(&[key]),
    )?;
    Ok(taken.filter(|(.., expires_at)| *expires_at > now).map(|(purpose, user_id, binding, name, _)| CeremonyRecord {
        purpose,
        user_id,
        binding,
        name,
    }))
}
