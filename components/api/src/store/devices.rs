//! The devices a user logged in with (`user_devices`): one row per (user, device cookie), the cookie's id stored
//! only as its SHA-256 digest, with the addresses and the countries it came from (newest first, comma separated),
//! its last user agent and a readable label.

use super::sql::{Db, DbError, SqlValue, texts};
use crate::bindings::mfa::session::risk::KnownDevice;

/// Devices considered per login (the most recently seen).
const MAX_DEVICES: i64 = 50;

/// A device's row: its digest, addresses, user agent and countries.
type DeviceRow = (String, Option<String>, Option<String>, Option<String>);

/// The user's devices, most recently seen first.
pub fn known(db: &Db, user_id: &str) -> Result<Vec<KnownDevice>, DbError> {
    let rows: Vec<DeviceRow> = db.rows(
        "SELECT device_hash, ips, user_agent, countries FROM user_devices WHERE user_id = $1 \
         ORDER BY last_seen_at DESC LIMIT $2",
        &[SqlValue::Text(user_id.to_owned()), SqlValue::Int(MAX_DEVICES)],
    )?;
    let list = |text: Option<String>| -> Vec<String> {
        text.unwrap_or_default().split(',').filter(|item| !item.is_empty()).map(str::to_owned).collect()
    };
    Ok(rows
        .into_iter()
        .map(|(device_id, ips, user_agent, countries)| KnownDevice {
            device_id,
            ips: list(ips),
            user_agent: user_agent.unwrap_or_default(),
            countries: list(countries),
        })
        .collect())
}

/// Whether `device_hash` already logged in to `user_id`.
pub fn is_known(db: &Db, user_id: &str, device_hash: &str) -> Result<bool, DbError> {
    db.exists("SELECT 1 FROM user_devices WHERE user_id = $1 AND device_hash = $2", &texts(&[user_id, device_hash]))
}

/// A login of a user from a device.
pub struct Seen<'a> {
    /// Whose.
    pub user_id: &'a str,
    /// SHA-256 of the device cookie's id.
    pub device_hash: &'a str,
    /// A readable name of the device.
    pub label: &'a str,
    /// The addresses it came from, newest first.
    pub ips: &'a [String],
    /// The countries it came from, newest first.
    pub countries: &'a [String],
    /// Its user agent.
    pub user_agent: &'a str,
}

/// Records a login from a device (inserting it, or updating its label, addresses, user agent and last time).
pub fn remember(db: &Db, seen: &Seen<'_>, now: i64) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO user_devices (user_id, device_hash, label, ips, user_agent, countries, first_seen_at, \
         last_seen_at) VALUES ($1, $2, $3, $4, $5, $7, $6, $6) ON CONFLICT (user_id, device_hash) DO UPDATE SET \
         label = excluded.label, ips = excluded.ips, user_agent = excluded.user_agent, \
         countries = excluded.countries, last_seen_at = excluded.last_seen_at",
        &[
            SqlValue::Text(seen.user_id.to_owned()),
            SqlValue::Text(seen.device_hash.to_owned()),
            SqlValue::Text(seen.label.to_owned()),
            SqlValue::Text(seen.ips.join(",")),
            SqlValue::Text(seen.user_agent.to_owned()),
            SqlValue::Int(now),
            SqlValue::Text(seen.countries.join(",")),
        ],
    )?;
    Ok(())
}
