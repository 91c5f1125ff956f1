//! Session records and the two stores they live in.
//!
//! - `sqlite`: the `user_sessions` table is the live store ([`sql`]). Creating a session runs in one transaction
//!   that serialises the user's admissions: the user's live sessions are read, session-policy's `admit-session`
//!   decides what to evict (or to refuse), and the evictions and the insert are written before `COMMIT`, so
//!   parallel logins cannot exceed the cap.
//! - `redis-postgres` ([`redis`]): the live session is a Redis string (its fields packed, [`packed`]) under
//!   `<prefix>s2:<SHA-256 of the token>` (never the token) whose TTL is the absolute lifetime, indexed per user in the
//!   sorted set `<prefix>u2:<user id>` of those digests (score = creation time). Creation is one Lua script that drops
//!   stale entries, evicts the oldest (or refuses) and writes the new session atomically; it returns a flat array (`1`,
//!   evicted keys...) or `0`, as Spin's `execute` flattens replies. Every session is also recorded in Postgres'
//!   `user_sessions` ([`records`]), BEFORE it enters Redis (so a parallel login that evicts it always finds the record
//!   to end), and evictions and endings are written there in the same request. While Redis is unreachable, the records
//!   are the live store as on SQLite ([`resilient`], [`crate::store::outage`]).
//!
//! The operations ([`lifecycle::Sessions`]) are written once over the [`live::LiveSessions`] trait, implemented
//! once per backend and chosen when the store opens. Sessions found expired on the way (idle or past their
//! lifetime, or gone from Redis by its TTL) are ended and remembered until [`lifecycle::Sessions::take_expired`],
//! so the request that noticed records them as events. Validity (absolute and idle expiry, when to write
//! activity) is session-policy's `check-session`.

pub mod lifecycle;
pub mod live;
pub mod packed;
pub mod records;
pub mod redis;
pub mod resilient;
pub mod sql;

use crate::model::{AuthMethod, Location, RiskSignal};

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The storage key: SHA-256 of the token, hex (session-policy's `storage-key`).
    pub key: String,
    /// The public id (shown in lists, used to revoke one).
    pub id: String,
    /// The user.
    pub user_id: String,
    /// Authentication assurance level: 1 password, 2 with a second factor.
    pub aal: i64,
    /// How it was established, or last stepped up.
    pub method: AuthMethod,
    /// The second factor (authenticator or phone id) it was established or last stepped up with; empty for none.
    pub factor_id: String,
    /// When the user last proved who they are.
    pub auth_time: i64,
    /// Created at.
    pub created_at: i64,
    /// Last activity written.
    pub last_seen_at: i64,
    /// The client address at creation.
    pub ip: String,
    /// The user agent at creation.
    pub user_agent: String,
    /// SHA-256 of the device cookie's id at creation.
    pub device_hash: String,
    /// A readable name of the device ("Firefox on Linux").
    pub device_label: String,
    /// The login's risk signals.
    pub risk: Vec<RiskSignal>,
    /// Where the client was at creation, when a trusted proxy said so.
    pub location: Location,
}

impl Session {
    /// Every stored field but the key, by name, as text: a record's columns.
    pub fn fields(&self) -> [(&'static str, String); 16] {
        [
            ("id", self.id.clone()),
            ("user_id", self.user_id.clone()),
            ("aal", self.aal.to_string()),
            ("method", self.method.as_str().to_owned()),
            ("auth_time", self.auth_time.to_string()),
            ("created_at", self.created_at.to_string()),
            ("last_seen_at", self.last_seen_at.to_string()),
            ("ip", self.ip.clone()),
            ("user_agent", self.user_agent.clone()),
            ("device_hash", self.device_hash.clone()),
            ("device_label", self.device_label.clone()),
            ("risk", crate::model::join_signals(&self.risk)),
            ("factor_id", self.factor_id.clone()),
            ("country", self.location.country.clone()),
            ("region", self.location.region.clone()),
            ("city", self.location.city.clone()),
        ]
    }

    /// This session (its key, id, times and client) with the proof of `renewed` and `renewed`'s key: what a
    /// rotation leaves.
    pub fn with_proof_of(&self, renewed: &Session) -> Session {
        Session {
            key: renewed.key.clone(),
            aal: renewed.aal,
            method: renewed.method,
            factor_id: renewed.factor_id.clone(),
            auth_time: renewed.auth_time,
            ..self.clone()
        }
    }

    /// The session stored under `key` with these named text fields (a record's columns); `None`
    /// when a required one is missing or malformed.
    pub fn from_fields(key: &str, field: impl Fn(&str) -> Option<String>) -> Option<Self> {
        let int = |name: &str| field(name).and_then(|value| value.parse::<i64>().ok());
        let optional = |name: &str| field(name).unwrap_or_default();
        Some(Self {
            key: key.to_owned(),
            id: field("id")?,
            user_id: field("user_id")?,
            aal: int("aal")?,
            method: AuthMethod::parse(&field("method")?)?,
            auth_time: int("auth_time")?,
            created_at: int("created_at")?,
            last_seen_at: int("last_seen_at")?,
            ip: optional("ip"),
            user_agent: optional("user_agent"),
            device_hash: optional("device_hash"),
            device_label: optional("device_label"),
            risk: crate::model::split_signals(&optional("risk")),
            factor_id: optional("factor_id"),
            location: Location { country: optional("country"), region: optional("region"), city: optional("city") },
        })
    }
}

/// The outcome of admitting a new session.
#[derive(Debug, PartialEq, Eq)]
pub enum Admitted {
    /// Created; these sessions (storage keys) were evicted to make room.
    Created {
        /// Evicted storage keys.
        evicted: Vec<String>,
    },
    /// The user is at the limit and the policy refuses.
    Refused,
}

/// Why a session ended, as its record says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// The user logged out.
    Logout,
    /// The user (or the product) revoked it.
    Revoked,
    /// The password changed.
    PasswordChanged,
    /// The session limit evicted it.
    Evicted,
    /// Past its absolute lifetime.
    Expired,
    /// Idle longer than the idle timeout.
    IdleExpired,
}

impl EndReason {
    /// The reason as recorded.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Logout => "logout",
            Self::Revoked => "revoked",
            Self::PasswordChanged => "password_changed",
            Self::Evicted => "evicted",
            Self::Expired => "expired",
            Self::IdleExpired => "idle_expired",
        }
    }

    /// Whether the session ended by itself (an expiry, recorded as a `session_expired` event by whoever noticed).
    pub fn is_expiry(self) -> bool {
        matches!(self, Self::Expired | Self::IdleExpired)
    }
}

/// A session this request found expired and ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expired {
    /// Whose.
    pub user_id: String,
    /// Its public id.
    pub session_id: String,
    /// Why ([`EndReason::Expired`] or [`EndReason::IdleExpired`]).
    pub reason: EndReason,
}

/// What a lookup found.
#[derive(Debug, PartialEq, Eq)]
pub enum Found {
    /// A live session (boxed: the other variants carry nothing).
    Live(Box<Session>),
    /// A session that had just expired, now ended (and remembered as [`Expired`]).
    Ended,
    /// Nothing under that key.
    Missing,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A session with every field set (the other session tests start from it).
    pub fn sample() -> Session {
        Session {
            key: "k".into(),
            id: "i".into(),
            user_id: "u".into(),
            aal: 2,
            method: AuthMethod::Totp,
            factor_id: "f".into(),
            auth_time: 3,
            created_at: 1,
            last_seen_at: 2,
            ip: "10.0.0.1".into(),
            user_agent: "ua".into(),
            device_hash: "d".into(),
            device_label: "l".into(),
            risk: vec![RiskSignal::NewIp],
            location: Location { country: "DE".into(), region: "Bavaria".into(), city: "Munich".into() },
        }
    }

    #[test]
    fn a_session_survives_its_fields() {
        let session = sample();
        let fields = session.fields();
        let field = |name: &str| fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone());
        assert_eq!(Session::from_fields("k", field), Some(session.clone()));
        assert_eq!(Session::from_fields("k", |name| if name == "id" { None } else { field(name) }), None);
    }
}
