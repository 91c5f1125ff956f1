//! The user's own data as stored (GDPR articles 15, 17 and 20): everything the service holds about a user, as one
//! JSON document, and its erasure ([`crate::domain::privacy`] says when).
//!
//! - The export holds no secret: no password hash, TOTP secret, code hash, token or device cookie digest. Phone
//!   numbers are shown in full (they are the user's own data); authenticators by name and dates; passkeys by name,
//!   dates, transports, whether synced and their model (AAGUID), never their keys.
//! - Erasure deletes the user's sessions (live ones from Redis too), factors, consents, backup and SMS codes,
//!   challenges, devices, lockout state and the account itself, and the personal data (IP address, user agent,
//!   location) of the user's security events. The events stay, so the hash chain remains verifiable ([`super::events`]:
//!   the chain covers only a salted digest of the personal data); one `account_erased` event, with no address or user
//!   agent, says when it happened. The live sessions end first; then the rows go in one transaction, the account's
//!   first, so a login racing the erasure finds no user (on Postgres a session it admitted meanwhile cannot be recorded
//!   for a missing user, and a session that cannot be recorded is undone).

use serde_json::{Map, Value, json};

use super::events;
use super::sql::{Db, DbError, SqlValue};

/// The boolean columns among those exported (SQLite stores them as 0/1).
const FLAGS: &[&str] = &["enabled", "backup_eligible"];

/// Every section of the export: its name, the columns shown, and the rest of the query (`$1` is the user id).
const SECTIONS: &[(&str, &[&str], &str)] = &[
    (
        "authenticators",
        &["id", "name", "enabled", "created_at", "confirmed_at"],
        "FROM mfa_configurations WHERE user_id = $1 AND kind = 'totp' ORDER BY created_at, id",
    ),
    (
        "phones",
        &["id", "phone", "enabled", "created_at", "confirmed_at"],
        "FROM mfa_configurations WHERE user_id = $1 AND kind = 'sms' ORDER BY created_at, id",
    ),
    (
        "passkeys",
        &["id", "name", "enabled", "created_at", "last_used_at", "transports", "backup_eligible", "aaguid"],
        "FROM mfa_configurations WHERE user_id = $1 AND kind = 'webauthn' ORDER BY created_at, id",
    ),
    ("backup_codes", &["created_at"], "FROM backup_codes WHERE user_id = $1 ORDER BY created_at"),
    (
        "consents",
        &["id", "purpose", "version", "text_sha256", "given_at", "ip", "user_agent", "withdrawn_at"],
        "FROM consents WHERE user_id = $1 ORDER BY given_at, id",
    ),
    (
        "trusted_devices",
        &["id", "label", "created_at", "expires_at"],
        "FROM trusted_devices WHERE user_id = $1 ORDER BY created_at, id",
    ),
    (
        "devices",
        &["label", "ips", "user_agent", "first_seen_at", "last_seen_at"],
        "FROM user_devices WHERE user_id = $1 ORDER BY first_seen_at",
    ),
    (
        "sessions",
        &[
            "id",
            "aal",
            "method",
            "auth_time",
            "created_at",
            "last_seen_at",
            "expires_at",
            "ended_at",
            "end_reason",
            "ip",
            "user_agent",
            "device_label",
            "risk",
            "country",
            "region",
            "city",
        ],
        "FROM user_sessions WHERE user_id = $1 ORDER BY created_at, id",
    ),
    (
        "second_factor_lockout",
        &["window_failures", "consecutive_failures", "lockouts", "locked_until", "disabled_at"],
        "FROM second_factor_states WHERE user_id = $1",
    ),
];

/// What erasure deletes (`$1` is the user id): the account's row first, so a login racing the erasure finds no user.
const ERASED: &[&str] = &[
    "DELETE FROM users WHERE id = $1",
    "DELETE FROM security_event_personal WHERE event_id IN (SELECT id FROM security_events WHERE user_id = $1)",
    "DELETE FROM sms_codes WHERE user_id = $1",
    "DELETE FROM consents WHERE user_id = $1",
    "DELETE FROM backup_codes WHERE user_id = $1",
    "DELETE FROM trusted_devices WHERE user_id = $1",
    "DELETE FROM second_factor_states WHERE user_id = $1",
    "DELETE FROM login_challenges WHERE user_id = $1",
    "DELETE FROM user_devices WHERE user_id = $1",
    "DELETE FROM mfa_configurations WHERE user_id = $1",
    "DELETE FROM user_sessions WHERE user_id = $1",
];

fn json_of(value: &SqlValue, column: &str) -> Value {
    match value {
        SqlValue::Null => Value::Null,
        value if FLAGS.contains(&column) => value.as_bool().map_or(Value::Null, Value::Bool),
        SqlValue::Int(i) => json!(i),
        SqlValue::Bool(b) => json!(b),
        SqlValue::Text(s) => json!(s),
        // No section selects bytes: they would be hashes or ciphertexts.
        SqlValue::Blob(_) => Value::Null,
    }
}

/// The rows of one section, as objects named by their columns.
fn section(db: &Db, user_id: &str, columns: &[&str], rest: &str) -> Result<Vec<Value>, DbError> {
    let rows = db.query(&format!("SELECT {} {rest}", columns.join(", ")), &[SqlValue::Text(user_id.to_owned())])?;
    Ok(rows
        .iter()
        .map(|row| {
            let fields: Map<String, Value> =
                columns.iter().zip(row).map(|(column, value)| ((*column).to_owned(), json_of(value, column))).collect();
            Value::Object(fields)
        })
        .collect())
}

/// Everything the service holds about `user_id`, as the export shows it; `None` when the account is gone.
pub fn export(db: &Db, user_id: &str, at: i64) -> Result<Option<Value>, DbError> {
    let account = section(
        db,
        user_id,
        &["id", "email", "external_id", "created_at", "updated_at", "password_changed_at", "password_hash"],
        "FROM users WHERE id = $1",
    )?;
    let Some(Value::Object(mut account)) = account.into_iter().next() else {
        return Ok(None);
    };
    // Whether there is a password, never the hash itself.
    let has_password = account.remove("password_hash").is_some_and(|hash| !hash.is_null());
    account.insert("has_password".to_owned(), json!(has_password));
    let mut document = Map::new();
    document.insert("exported_at".to_owned(), json!(at));
    document.insert("account".to_owned(), Value::Object(account));
    for (name, columns, rest) in SECTIONS {
        document.insert((*name).to_owned(), json!(section(db, user_id, columns, rest)?));
    }
    document.insert("security_events".to_owned(), json!(events::for_user(db, user_id, i64::MAX, i64::MAX)?));
    Ok(Some(Value::Object(document)))
}

/// Deletes every row of `user_id` (see the module docs) in one transaction, holding the event chain's lock.
pub fn erase(db: &Db, user_id: &str) -> Result<(), DbError> {
    db.transaction(|| {
        // No event is appended while the personal data goes (see `events::lock`).
        events::lock(db)?;
        for statement in ERASED {
            db.execute(statement, &[SqlValue::Text(user_id.to_owned())])?;
        }
        Ok::<(), DbError>(())
    })
}
