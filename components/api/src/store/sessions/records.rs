//! The durable session records: the `user_sessions` table (on SQLite also the live store). Every statement about
//! it is here.

use std::cell::RefCell;

use super::{EndReason, Expired, Session};
use crate::store::sql::{Db, DbError, FromRow, SqlValue, placeholders, texts};

/// The columns a session is read from, in [`Session::fields`]' names.
const COLUMNS: &str = "id, user_id, aal, method, auth_time, created_at, last_seen_at, ip, user_agent, device_hash, \
                       device_label, risk, factor_id, country, region, city";

/// The table, and where the expiries it records are remembered for the request.
pub struct Records<'a> {
    /// The database.
    pub db: &'a Db,
    /// Sessions ended as expired by this request so far.
    pub expired: &'a RefCell<Vec<Expired>>,
}

/// A record's columns, read as named text.
struct Columns(Vec<(&'static str, Option<String>)>);

impl FromRow for Columns {
    fn from_row(row: &[SqlValue]) -> Option<Self> {
        let names = COLUMNS.split(',').map(str::trim);
        let text = |value: &SqlValue| match value {
            SqlValue::Text(text) => Some(text.clone()),
            SqlValue::Int(number) => Some(number.to_string()),
            _ => None,
        };
        let values: Vec<(&'static str, Option<String>)> =
            names.zip(row).map(|(name, value)| (name, text(value))).collect();
        (values.len() == row.len()).then_some(Self(values))
    }
}

impl Columns {
    fn session(&self, key: &str) -> Option<Session> {
        Session::from_fields(key, |name| self.0.iter().find(|(n, _)| *n == name).and_then(|(_, v)| v.clone()))
    }
}

impl Records<'_> {
    /// Records a new session living until `expires_at`.
    pub fn insert(&self, session: &Session, expires_at: i64) -> Result<(), DbError> {
        let mut params = vec![SqlValue::Text(session.key.clone())];
        params.extend(session.fields().into_iter().map(|(name, value)| match name {
            "aal" => SqlValue::Int(session.aal),
            "auth_time" => SqlValue::Int(session.auth_time),
            "created_at" => SqlValue::Int(session.created_at),
            "last_seen_at" => SqlValue::Int(session.last_seen_at),
            _ => SqlValue::Text(value),
        }));
        params.push(SqlValue::Int(expires_at));
        let statement = format!(
            "INSERT INTO user_sessions (token_hash, {COLUMNS}, expires_at) VALUES ({})",
            placeholders(1, params.len())
        );
        self.db.execute(&statement, &params)?;
        Ok(())
    }

    /// Deletes the record under `key` (a session that never became live).
    pub fn delete(&self, key: &str) -> Result<(), DbError> {
        self.db.execute("DELETE FROM user_sessions WHERE token_hash = $1", &texts(&[key]))?;
        Ok(())
    }

    /// Whether a record (open or ended) exists under `key`.
    pub fn exists(&self, key: &str) -> Result<bool, DbError> {
        self.db.exists("SELECT 1 FROM user_sessions WHERE token_hash = $1", &texts(&[key]))
    }

    /// Ends the record under `key` for `reason` (if it is still open); an expiry is remembered.
    pub fn end(&self, key: &str, reason: EndReason, now: i64) -> Result<(), DbError> {
        let ended: Vec<(String, String)> = self.db.rows(
            "UPDATE user_sessions SET ended_at = $1, end_reason = $2 WHERE token_hash = $3 AND ended_at IS NULL \
             RETURNING user_id, id",
            &[SqlValue::Int(now), SqlValue::Text(reason.as_str().to_owned()), SqlValue::Text(key.to_owned())],
        )?;
        if reason.is_expiry() {
            self.expired.borrow_mut().extend(ended.into_iter().map(|(user_id, session_id)| Expired {
                user_id,
                session_id,
                reason,
            }));
        }
        Ok(())
    }

    /// The open session under `key`.
    pub fn find_open(&self, key: &str) -> Result<Option<Session>, DbError> {
        let found: Option<Columns> = self.db.row(
            &format!("SELECT {COLUMNS} FROM user_sessions WHERE token_hash = $1 AND ended_at IS NULL"),
            &texts(&[key]),
        )?;
        Ok(found.and_then(|columns| columns.session(key)))
    }

    /// The open, unexpired session under `key`, with the end of its absolute lifetime.
    pub fn open_with_end(&self, key: &str, now: i64) -> Result<Option<(Session, i64)>, DbError> {
        Ok(self.open_where("token_hash = $1", &[SqlValue::Text(key.to_owned()), SqlValue::Int(now)])?.pop())
    }

    /// Every open, unexpired session created at or after `since`, with the end of its absolute lifetime (what a
    /// live store that lost or missed them must hold again).
    pub fn open_since(&self, since: i64, now: i64) -> Result<Vec<(Session, i64)>, DbError> {
        self.open_where("created_at >= $1", &[SqlValue::Int(since), SqlValue::Int(now)])
    }

    /// The open sessions matching `condition` (on `$1`) and not expired at `$2`, with their ends.
    fn open_where(&self, condition: &str, params: &[SqlValue]) -> Result<Vec<(Session, i64)>, DbError> {
        let rows = self.db.query(
            &format!(
                "SELECT token_hash, expires_at, {COLUMNS} FROM user_sessions \
                 WHERE ended_at IS NULL AND {condition} AND expires_at > $2"
            ),
            params,
        )?;
        Ok(rows
            .iter()
            .filter_map(|row| match row.as_slice() {
                [SqlValue::Text(key), SqlValue::Int(expires_at), rest @ ..] => {
                    Some((Columns::from_row(rest)?.session(key)?, *expires_at))
                }
                _ => None,
            })
            .collect())
    }

    /// The storage keys of the user's open sessions, oldest first.
    pub fn open_keys(&self, user_id: &str) -> Result<Vec<String>, DbError> {
        let keys: Vec<(String,)> = self.db.rows(
            "SELECT token_hash FROM user_sessions WHERE user_id = $1 AND ended_at IS NULL ORDER BY created_at, id",
            &texts(&[user_id]),
        )?;
        Ok(keys.into_iter().map(|(key,)| key).collect())
    }

    /// The user's open sessions' keys with their creation and last activity times (what admission decides on).
    pub fn open_times(&self, user_id: &str) -> Result<Vec<(String, i64, i64)>, DbError> {
        self.db.rows(
            "SELECT token_hash, created_at, last_seen_at FROM user_sessions WHERE user_id = $1 AND ended_at IS NULL",
            &texts(&[user_id]),
        )
    }

    /// The ids and keys of the user's open sessions established (or last stepped up) with second factor
    /// `factor_id`, but session `keep`.
    pub fn established_with(
        &self,
        user_id: &str,
        factor_id: &str,
        keep: &str,
    ) -> Result<Vec<(String, String)>, DbError> {
        self.db.rows(
            "SELECT id, token_hash FROM user_sessions \
             WHERE user_id = $1 AND factor_id = $2 AND id <> $3 AND ended_at IS NULL",
            &texts(&[user_id, factor_id, keep]),
        )
    }

    /// Writes the session's last activity.
    pub fn touch(&self, key: &str, now: i64) -> Result<(), DbError> {
        self.db.execute(
            "UPDATE user_sessions SET last_seen_at = $1 WHERE token_hash = $2",
            &[SqlValue::Int(now), SqlValue::Text(key.to_owned())],
        )?;
        Ok(())
    }

    /// Moves the open record under `old_key` to `renewed`'s key and proof; whether there was one.
    pub fn rotate(&self, old_key: &str, renewed: &Session) -> Result<bool, DbError> {
        let moved = self.db.execute(
            "UPDATE user_sessions SET token_hash = $1, aal = $2, method = $3, factor_id = $4, auth_time = $5 \
             WHERE token_hash = $6 AND ended_at IS NULL",
            &[
                SqlValue::Text(renewed.key.clone()),
                SqlValue::Int(renewed.aal),
                SqlValue::Text(renewed.method.as_str().to_owned()),
                SqlValue::Text(renewed.factor_id.clone()),
                SqlValue::Int(renewed.auth_time),
                SqlValue::Text(old_key.to_owned()),
            ],
        )?;
        Ok(moved > 0)
    }
}
