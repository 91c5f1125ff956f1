//! The security-event trail: every authentication and session event, append-only and hash-chained.
//!
//! Each event row carries `prev_hash` (the previous event's `hash`, or 64 zeros for the first) and `hash =
//! SHA-256(prev_hash "\n" kind "\n" user "\n" at "\n" session "\n" detail "\n" personal_digest)`, so any edit,
//! insertion or removal inside the chain breaks it (removing the newest events is only detectable against an anchor
//! kept elsewhere, e.g. the last hash `tools/audit-chain` prints, kept by the operator). Personal data (IP address,
//! user agent, location) lives in `security_event_personal` beside a random salt; the chain covers only
//! `personal_digest = SHA-256(salt "\n" ip "\n" user agent)`, with `"\n" location` appended when a location is known,
//! so erasing a user's personal rows keeps the chain verifiable. Appending takes a lock (`pg_advisory_xact_lock` on
//! Postgres, `BEGIN IMMEDIATE` on SQLite) so concurrent writers never fork the chain. On Postgres the database computes
//! the same chain in one statement (the `append_security_events` function of migrations 0007, 0008 and 0010); the e2e
//! suite checks both against its own SHA-256. Each append also counts its event by kind (`security_event_counts`,
//! read by [`counts`]) in the same transaction.

use rand::TryRngCore;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::sql::{Db, DbError, SqlValue};
use crate::model::EventKind;

/// The chain's starting `prev_hash`.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The advisory lock appends hold on Postgres ("mfa-evnt").
const LOCK_KEY: i64 = 0x6d66_612d_6576_6e74;

/// One event to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event<'a> {
    /// What happened.
    pub kind: EventKind,
    /// Whose account, if known.
    pub user_id: Option<&'a str>,
    /// Which session, if any (its public id).
    pub session_id: Option<&'a str>,
    /// Further facts, as a JSON object (never a secret).
    pub detail: serde_json::Value,
    /// The client address.
    pub ip: &'a str,
    /// The client's user agent.
    pub user_agent: &'a str,
    /// The client's location as JSON text (empty: unknown).
    pub location: &'a str,
}

/// The digest of the personal data, under `salt` (the location only when known, so digests made before it
/// existed stay the same).
pub fn personal_digest(salt: &[u8], ip: &str, user_agent: &str, location: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(salt);
    hasher.update(b"\n");
    hasher.update(ip.as_bytes());
    hasher.update(b"\n");
    hasher.update(user_agent.as_bytes());
    if !location.is_empty() {
        hasher.update(b"\n");
        hasher.update(location.as_bytes());
    }
    data_encoding::HEXLOWER.encode(&hasher.finalize())
}

/// An event's chain hash.
pub fn chain_hash(
    prev_hash: &str,
    kind: &str,
    user_id: &str,
    at: i64,
    session_id: &str,
    detail: &str,
    personal_digest: &str,
) -> String {
    let mut hasher = Sha256::new();
    for (index, part) in
        [prev_hash, kind, user_id, &at.to_string(), session_id, detail, personal_digest].iter().enumerate()
    {
        if index > 0 {
            hasher.update(b"\n");
        }
        hasher.update(part.as_bytes());
    }
    data_encoding::HEXLOWER.encode(&hasher.finalize())
}

/// Takes the chain's lock for the rest of the current transaction (on SQLite the transaction's own write lock is
/// the lock). Appends hold it, and so does an account's erasure: an event appended meanwhile either comes before
/// the erasure (which then removes its personal data) or finds the account gone (and keeps none).
pub fn lock(db: &Db) -> Result<(), DbError> {
    if db.is_postgres() {
        db.query("SELECT pg_advisory_xact_lock($1)::text", &[SqlValue::Int(LOCK_KEY)])?;
    }
    Ok(())
}

/// Appends `events` at time `at`, in order, under one lock: in one statement on Postgres (its
/// `append_security_events` function, migration 0007), in one transaction on SQLite. The personal data of an event
/// about an account that no longer exists (erased while its request ran) is not kept.
pub fn record(db: &Db, events: &[Event<'_>], at: i64) -> Result<(), DbError> {
    if db.is_postgres() {
        return append_on_postgres(db, events, at);
    }
    db.transaction(|| {
        lock(db)?;
        let last = db.query("SELECT hash FROM security_events ORDER BY id DESC LIMIT 1", &[])?;
        let mut prev =
            last.first().and_then(|row| row.first()).and_then(SqlValue::as_str).unwrap_or(GENESIS).to_owned();
        // Whether each account named still exists, asked once per account.
        let mut exists: Vec<(&str, bool)> = Vec::new();
        for event in events {
            let gone = match event.user_id {
                None => false,
                Some(user) => match exists.iter().find(|(known, _)| *known == user) {
                    Some((_, there)) => !there,
                    None => {
                        let there = !db
                            .query("SELECT 1 FROM users WHERE id = $1", &[SqlValue::Text(user.to_owned())])?
                            .is_empty();
                        exists.push((user, there));
                        !there
                    }
                },
            };
            let kept =
                if gone { Event { ip: "", user_agent: "", location: "", ..event.clone() } } else { event.clone() };
            prev = append(db, &kept, at, prev)?;
        }
        Ok(())
    })
}

/// Appends `events` with one call of the database's `append_security_events` (the same chain, computed there).
fn append_on_postgres(db: &Db, events: &[Event<'_>], at: i64) -> Result<(), DbError> {
    let batch: Vec<serde_json::Value> = events
        .iter()
        .map(|event| {
            Ok(json!({
                "kind": event.kind.as_str(),
                "user_id": event.user_id,
                "session_id": event.session_id,
                "detail": detail_text(event),
                "salt": data_encoding::HEXLOWER.encode(&new_salt()?),
                "ip": event.ip,
                "user_agent": event.user_agent,
                "location": event.location,
            }))
        })
        .collect::<Result<_, DbError>>()?;
    db.query(
        "SELECT append_security_events($1, $2, $3)",
        &[SqlValue::Int(LOCK_KEY), SqlValue::Int(at), SqlValue::Text(serde_json::Value::from(batch).to_string())],
    )?;
    Ok(())
}

/// A fresh salt for an event's personal data.
fn new_salt() -> Result<[u8; 16], DbError> {
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.try_fill_bytes(&mut salt).map_err(|_| DbError::Statement("no randomness".to_owned()))?;
    Ok(salt)
}

/// The event's detail as the text that is stored and hashed (`{}` for none).
fn detail_text(event: &Event<'_>) -> String {
    if event.detail.is_null() { json!({}) } else { event.detail.clone() }.to_string()
}

/// Inserts one event after the event whose hash is `prev`; returns the new event's hash.
fn append(db: &Db, event: &Event<'_>, at: i64, prev: String) -> Result<String, DbError> {
    let salt = new_salt()?;
    let digest = personal_digest(&salt, event.ip, event.user_agent, event.location);
    let detail = detail_text(event);
    let user = event.user_id.unwrap_or("");
    let session = event.session_id.unwrap_or("");
    let hash = chain_hash(&prev, event.kind.as_str(), user, at, session, &detail, &digest);
    let nullable = |value: Option<&str>| value.map_or(SqlValue::Null, |v| SqlValue::Text(v.to_owned()));
    let rows = db.query(
        "INSERT INTO security_events (user_id, kind, at, session_id, detail, personal_digest, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        &[
            nullable(event.user_id),
            SqlValue::Text(event.kind.as_str().to_owned()),
            SqlValue::Int(at),
            nullable(event.session_id),
            SqlValue::Text(detail),
            SqlValue::Text(digest),
            SqlValue::Text(prev),
            SqlValue::Text(hash.clone()),
        ],
    )?;
    let id = rows.first().and_then(|row| row.first()).and_then(SqlValue::as_i64).unwrap_or(0);
    db.execute(
        "INSERT INTO security_event_personal (event_id, salt, ip, user_agent, location) VALUES ($1, $2, $3, $4, $5)",
        &[
            SqlValue::Int(id),
            SqlValue::Blob(salt.to_vec()),
            SqlValue::Text(event.ip.to_owned()),
            SqlValue::Text(event.user_agent.to_owned()),
            SqlValue::Text(event.location.to_owned()),
        ],
    )?;
    db.execute(
        "INSERT INTO security_event_counts (kind, total) VALUES ($1, 1) \
         ON CONFLICT (kind) DO UPDATE SET total = security_event_counts.total + 1",
        &[SqlValue::Text(event.kind.as_str().to_owned())],
    )?;
    Ok(hash)
}

/// How many events of each kind were ever written (`mfa_security_events_total{kind}`), by kind.
pub fn counts(db: &Db) -> Result<Vec<(String, i64)>, DbError> {
    db.rows("SELECT kind, total FROM security_event_counts ORDER BY kind", &[])
}

/// The columns every event answer shows (`e` the event, `p` its personal data), in [`event_json`]'s order.
const SHOWN: &str = "e.id, e.kind, e.at, e.session_id, e.detail, p.ip, p.user_agent, p.location";

/// An event as answered, from the [`SHOWN`] columns.
fn event_json(row: &[SqlValue]) -> Option<serde_json::Value> {
    match row {
        [id, kind, at, session, detail, ip, agent, location] => Some(json!({
            "id": id.as_i64()?,
            "kind": kind.as_str()?,
            "at": at.as_i64()?,
            "session_id": session.as_str(),
            "detail": detail.as_str().and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok()),
            "ip": ip.as_str(),
            "user_agent": agent.as_str(),
            "location": location.as_str().and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok()),
        })),
        _ => None,
    }
}

/// The user's events before event id `before`, newest first, at most `limit`, with their personal data where it
/// still exists.
pub fn for_user(db: &Db, user_id: &str, before: i64, limit: i64) -> Result<Vec<serde_json::Value>, DbError> {
    let rows = db.query(
        &format!(
            "SELECT {SHOWN} FROM security_events e LEFT JOIN security_event_personal p ON p.event_id = e.id \
             WHERE e.user_id = $1 AND e.id < $2 ORDER BY e.id DESC LIMIT $3"
        ),
        &[SqlValue::Text(user_id.to_owned()), SqlValue::Int(before), SqlValue::Int(limit)],
    )?;
    Ok(rows.iter().filter_map(|row| event_json(row)).collect())
}

/// Every user's events after event `after`, oldest first, at most `limit`, each with its `user_id` and the user's
/// `external_id` (none once the account is erased). Ids are given under the chain's lock, so they become visible
/// in order: no event ever appears before the last id a reader has seen.
pub fn feed(db: &Db, after: i64, limit: i64) -> Result<Vec<serde_json::Value>, DbError> {
    let rows = db.query(
        &format!(
            "SELECT e.user_id, u.external_id, {SHOWN} FROM security_events e \
             LEFT JOIN users u ON u.id = e.user_id LEFT JOIN security_event_personal p ON p.event_id = e.id \
             WHERE e.id > $1 ORDER BY e.id LIMIT $2"
        ),
        &[SqlValue::Int(after), SqlValue::Int(limit)],
    )?;
    Ok(rows
        .iter()
        .filter_map(|row| {
            let [user_id, external_id, shown @ ..] = row.as_slice() else { return None };
            let mut event = event_json(shown)?;
            let fields = event.as_object_mut()?;
            fields.insert("user_id".to_owned(), json!(user_id.as_str()));
            fields.insert("external_id".to_owned(), json!(external_id.as_str()));
            Some(event)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_hash_covers_every_field_and_the_previous_hash() {
        let base = chain_hash(GENESIS, "login_succeeded", "u1", 100, "s1", "{}", "d");
        assert_eq!(base.len(), 64);
        assert_eq!(base, chain_hash(GENESIS, "login_succeeded", "u1", 100, "s1", "{}", "d"));
        for changed in [
            chain_hash(&base, "login_succeeded", "u1", 100, "s1", "{}", "d"),
            chain_hash(GENESIS, "login_failed", "u1", 100, "s1", "{}", "d"),
            chain_hash(GENESIS, "login_succeeded", "u2", 100, "s1", "{}", "d"),
            chain_hash(GENESIS, "login_succeeded", "u1", 101, "s1", "{}", "d"),
            chain_hash(GENESIS, "login_succeeded", "u1", 100, "s2", "{}", "d"),
            chain_hash(GENESIS, "login_succeeded", "u1", 100, "s1", "{\"a\":1}", "d"),
            chain_hash(GENESIS, "login_succeeded", "u1", 100, "s1", "{}", "e"),
            // Field boundaries matter: moving text between fields changes the hash.
            chain_hash(GENESIS, "login_succeeded", "u", 100, "1s1", "{}", "d"),
        ] {
            assert_ne!(changed, base);
        }
    }

    #[test]
    fn personal_data_is_salted() {
        let a = personal_digest(b"salt-a", "10.0.0.1", "curl", "");
        assert_ne!(a, personal_digest(b"salt-b", "10.0.0.1", "curl", ""));
        assert_ne!(a, personal_digest(b"salt-a", "10.0.0.2", "curl", ""));
        assert_ne!(a, personal_digest(b"salt-a", "10.0.0.1", "curl", r#"{"country":"DE"}"#));
    }
}
