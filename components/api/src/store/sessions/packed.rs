//! A live session as Redis keeps it: one string, the session's fields as a JSON array in a fixed order, last
//! activity first (so a Lua script reads it with one pattern match). A string stays compact however long the user
//! agent is, where a hash turns into a hashtable past 64 bytes a value (see docs/benchmarks.md), and a session
//! check reads it with a plain `GET`. The location came last, later: a value without it (written before) still
//! reads, as a session of unknown location.

use super::Session;
use crate::model::{AuthMethod, Location, join_signals, split_signals};

/// The fields in their stored order: last_seen_at, created_at, auth_time, aal, method, id, user_id, factor_id, ip,
/// user_agent, device_hash, device_label, risk, country, region, city.
type Fields<S> = (i64, i64, i64, i64, S, S, S, S, S, S, S, S, S, S, S, S);

/// The fields as stored before the location.
type FieldsWithoutLocation<S> = (i64, i64, i64, i64, S, S, S, S, S, S, S, S, S);

/// `session` as stored in Redis.
pub fn pack(session: &Session) -> String {
    let risk = join_signals(&session.risk);
    let fields: Fields<&str> = (
        session.last_seen_at,
        session.created_at,
        session.auth_time,
        session.aal,
        session.method.as_str(),
        &session.id,
        &session.user_id,
        &session.factor_id,
        &session.ip,
        &session.user_agent,
        &session.device_hash,
        &session.device_label,
        &risk,
        &session.location.country,
        &session.location.region,
        &session.location.city,
    );
    serde_json::to_string(&fields).unwrap_or_default()
}

/// The session stored under `key` as `value`; `None` when `value` is not a packed session.
pub fn unpack(key: &str, value: &[u8]) -> Option<Session> {
    let fields: Fields<String> = match serde_json::from_slice(value) {
        Ok(fields) => fields,
        Err(_) => {
            let (a, b, c, d, e, f, g, h, i, j, k, l, m): FieldsWithoutLocation<String> =
                serde_json::from_slice(value).ok()?;
            (a, b, c, d, e, f, g, h, i, j, k, l, m, String::new(), String::new(), String::new())
        }
    };
    let (
        last_seen_at,
        created_at,
        auth_time,
        aal,
        method,
        id,
        user_id,
        factor_id,
        ip,
        user_agent,
        device_hash,
        label,
        risk,
        country,
        region,
        city,
    ) = fields;
    Some(Session {
        key: key.to_owned(),
        id,
        user_id,
        aal,
        method: AuthMethod::parse(&method)?,
        factor_id,
        auth_time,
        created_at,
        last_seen_at,
        ip,
        user_agent,
        device_hash,
        device_label: label,
        risk: split_signals(&risk),
        location: Location { country, region, city },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RiskSignal;

    fn session() -> Session {
        Session {
            last_seen_at: 1_733_430_000,
            user_agent: "Mozilla/5.0 \"quoted\" \u{1f} and \\ all".into(),
            device_label: "Firefox on Linux".into(),
            risk: vec![RiskSignal::NewIp, RiskSignal::NewDevice],
            ..super::super::tests::sample()
        }
    }

    #[test]
    fn a_session_survives_being_packed() {
        let packed = pack(&session());
        assert_eq!(unpack("k", packed.as_bytes()), Some(session()));
    }

    #[test]
    fn a_session_packed_before_the_location_still_reads() {
        let earlier = r#"[5,1,3,2,"totp","i","u","f","10.0.0.1","ua","d","l","new_ip"]"#;
        let expected = Session { last_seen_at: 5, location: Location::default(), ..super::super::tests::sample() };
        assert_eq!(unpack("k", earlier.as_bytes()), Some(expected));
    }

    #[test]
    fn last_activity_comes_first_for_the_scripts() {
        assert!(pack(&session()).starts_with("[1733430000,"), "{}", pack(&session()));
    }

    #[test]
    fn anything_else_is_no_session() {
        for value in ["", "[]", "{}", "[1,2,3]", "not json", r#"[1,1,1,2,"nope","i","u","f","","","","",""]"#] {
            assert_eq!(unpack("k", value.as_bytes()), None, "{value}");
        }
    }
}
