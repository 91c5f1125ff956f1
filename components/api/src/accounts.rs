//! Accounts: registration with email and password (`POST /v1/register`), and changing the password
//! (`POST /v1/password`: needs the session and the current password, checked under the same password-guessing
//! limits as login; the user's other sessions are revoked).
//!
//! Registration does not reveal whether an email is already registered: a new email and a taken one get the same
//! `201 {"status": "registered"}` after the same work (the password is checked and hashed in both cases, and the
//! insert is attempted; a uniqueness refusal is not reported). The owner of a taken email is unaffected, and the
//! caller learns nothing a login attempt would not also tell. Registrations are limited per client address
//! (`registration_limit_ip`, 20 per hour by default; 429 with `Retry-After` beyond), which also bounds how fast
//! anyone could probe emails this way.

use serde::Deserialize;
use serde_json::json;

use crate::auth::{record, unavailable};
use crate::clock::now;
use crate::config::Lookup;
use crate::http::{Reply, Request};
use crate::login::{Verdict, throttled_reply};
use crate::password::{self, PasswordError};
use crate::sessions::Store;
use crate::sql::{DbError, SqlValue};
use crate::throttles;

/// The longest email accepted (RFC 5321's path limit).
const MAX_EMAIL: usize = 254;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Registration {
    email: String,
    password: String,
}

/// Parses a JSON body, refusing other content types (415) and malformed or unexpected fields (400).
pub fn json_body<T: serde::de::DeserializeOwned>(request: &Request) -> Result<T, Reply> {
    let content_type = request.header("content-type").unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if !media_type.eq_ignore_ascii_case("application/json") {
        return Err(Reply::error(415, "unsupported_media_type", "send the body as application/json"));
    }
    serde_json::from_slice(&request.body).map_err(|error| {
        let code = if error.is_data() { "invalid_field" } else { "bad_json" };
        Reply::error(400, code, &format!("the JSON body is not valid: {error}"))
    })
}

/// The normalised form of an email address (trimmed, lower case), or why it is refused.
pub fn normalize_email(email: &str) -> Result<String, Reply> {
    let email = email.trim().to_lowercase();
    let invalid = |why: &str| Err(Reply::error(400, "invalid_email", why));
    if email.is_empty() || email.len() > MAX_EMAIL {
        return invalid("the email must have 1 to 254 bytes (UTF-8)");
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return invalid("the email must not contain spaces or control characters");
    }
    match email.split_once('@') {
        Some((local, domain)) if !local.is_empty() && !domain.is_empty() && !domain.contains('@') => Ok(email),
        _ => invalid("the email must look like name@domain"),
    }
}

fn password_refusal(error: &PasswordError) -> Reply {
    let code = match error {
        PasswordError::TooShort => "password_too_short",
        PasswordError::TooLong => "password_too_long",
        PasswordError::ContainsEmail => "password_contains_email",
        PasswordError::TooWeak { .. } => "password_too_weak",
    };
    Reply::error(400, code, &error.to_string())
}

/// A new random user id (128 bits, hex).
pub fn new_user_id() -> Result<String, Reply> {
    use rand::TryRngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|_| Reply::error(500, "internal_error", "no randomness available"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// `POST /v1/register` `{"email", "password"}`.
pub fn register(request: &Request, get: Lookup<'_>) -> Reply {
    // Fails closed: only an explicit yes keeps registration open.
    let allowed = get("allow_registration").map(|v| v.trim().to_ascii_lowercase());
    if !matches!(allowed.as_deref(), Some("true" | "1" | "yes" | "on")) {
        return Reply::error(403, "registration_disabled", "registration is disabled on this service");
    }
    let registration: Registration = match json_body(request) {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let email = match normalize_email(&registration.email) {
        Ok(email) => email,
        Err(refusal) => return refusal,
    };
    if let Err(error) = password::check(&registration.password, &email) {
        return password_refusal(&error);
    }
    let store = match Store::open(get) {
        Ok(store) => store,
        Err(error) => return unavailable("register", &error),
    };
    let db = store.db();
    let now = now();
    let limits = match crate::auth::throttles_or_reply(get) {
        Ok(limits) => limits,
        Err(refusal) => return refusal,
    };
    match throttles::registration(&store, &limits, &throttles::address_key(request.client_ip), now) {
        Ok(Ok(())) => {}
        Ok(Err(throttled)) => {
            let detail = json!({"limit": throttled.limit, "retry_after": throttled.retry_after});
            record(&store, request, "registration_throttled", None, None, detail, now);
            return throttled_reply(&throttled);
        }
        Err(error) => return unavailable("register", &error),
    }
    let Ok(hash) = password::hash(&registration.password) else {
        return Reply::error(500, "internal_error", "the password could not be hashed");
    };
    let id = match new_user_id() {
        Ok(id) => id,
        Err(refusal) => return refusal,
    };
    let inserted = db.execute(
        "INSERT INTO users (id, email, password_hash, created_at, updated_at, password_changed_at) \
         VALUES ($1, $2, $3, $4, $4, $4)",
        &[SqlValue::Text(id.clone()), SqlValue::Text(email.clone()), SqlValue::Text(hash), SqlValue::Int(now)],
    );
    match &inserted {
        Ok(_) => record(&store, request, "registered", Some(&id), None, json!({}), now),
        Err(DbError::Conflict) => {
            // The owner of the email sees that someone tried to register it again.
            let owner = db
                .query("SELECT id FROM users WHERE email = $1", &[SqlValue::Text(email.clone())])
                .ok()
                .and_then(|rows| rows.first().and_then(|row| row.first()).and_then(|v| v.as_str().map(str::to_owned)));
            record(&store, request, "registration_for_existing_email", owner.as_deref(), None, json!({}), now);
        }
        Err(_) => {}
    }
    match inserted {
        // A taken email answers exactly as a new one (see the module documentation).
        Ok(_) | Err(DbError::Conflict) => {
            Reply::json(201, &json!({"status": "registered", "message": "you can now log in with this email"}))
        }
        Err(error) => {
            eprintln!("register: {error}");
            Reply::error(503, "unavailable", "the account could not be stored")
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// `POST /v1/password` `{"current_password", "new_password"}`.
pub fn change_password(request: &Request, get: Lookup<'_>) -> Reply {
    let (store, session, policy) = match crate::auth::authenticate(request, get) {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    let change: PasswordChange = match json_body(request) {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let user = match store
        .db()
        .query("SELECT email, password_hash FROM users WHERE id = $1", &[SqlValue::Text(session.user_id.clone())])
    {
        Ok(rows) => rows.into_iter().next(),
        Err(error) => return unavailable("change password", &error),
    };
    let (email, stored_hash) = match user.as_deref() {
        Some([email, hash]) => (email.as_str().unwrap_or("").to_owned(), hash.as_str().map(str::to_owned)),
        _ => return Reply::error(404, "user_not_found", "this session's account no longer exists"),
    };
    let uid = Some(session.user_id.as_str());
    let sid = Some(session.id.as_str());
    // The session's holder counts as a known device: a stranger's failures cannot lock them out of this.
    let verdict = crate::login::guarded_verify(
        &store,
        request,
        get,
        &email,
        stored_hash.as_deref(),
        true,
        &change.current_password,
    );
    match verdict {
        Ok(Verdict::Right) => {}
        Ok(Verdict::Throttled(throttled)) => {
            let detail = json!({"limit": throttled.limit, "retry_after": throttled.retry_after});
            record(&store, request, "password_change_throttled", uid, sid, detail, now());
            return throttled_reply(&throttled);
        }
        Ok(Verdict::Wrong) => {
            record(&store, request, "password_change_failed", uid, sid, json!({"reason": "wrong_password"}), now());
            return Reply::error(403, "current_password_wrong", "the current password is wrong");
        }
        Err(refusal) => return refusal,
    }
    if let Err(error) = password::check(&change.new_password, &email) {
        return password_refusal(&error);
    }
    let Ok(hash) = password::hash(&change.new_password) else {
        return Reply::error(500, "internal_error", "the password could not be hashed");
    };
    let now = now();
    // Trusted devices go first: a password change that cannot void them does not happen.
    if let Err(refusal) =
        crate::trusted_devices::void_after_change(&store, request, &session.user_id, sid, "password_changed", now)
    {
        return refusal;
    }
    if let Err(error) = store.db().execute(
        "UPDATE users SET password_hash = $1, password_changed_at = $2, updated_at = $2 WHERE id = $3",
        &[SqlValue::Text(hash), SqlValue::Int(now), SqlValue::Text(session.user_id.clone())],
    ) {
        return unavailable("change password", &error);
    }
    record(&store, request, "password_changed", uid, sid, json!({}), now);
    let others = store.list(&session.user_id, &policy, now);
    crate::auth::record_expired(&store, request, now);
    let others = match others {
        Ok(sessions) => sessions.into_iter().filter(|other| other.id != session.id).collect::<Vec<_>>(),
        Err(error) => return unavailable("change password", &error),
    };
    let mut revoked = Vec::new();
    for other in &others {
        if let Err(error) = store.end(other, "password_changed", now) {
            return unavailable("change password", &error);
        }
        let detail = json!({"reason": "password_changed", "by_session": session.id});
        record(&store, request, "session_revoked", uid, Some(&other.id), detail, now);
        revoked.push(other.id.clone());
    }
    Reply::json(200, &json!({"status": "password_changed", "revoked": revoked}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_or_refused() {
        assert_eq!(normalize_email("  Alice@Example.COM ").unwrap(), "alice@example.com");
        for bad in ["", "no-at-sign", "@example.com", "alice@", "a b@example.com", "a@b@c"] {
            assert_eq!(normalize_email(bad).unwrap_err().status, 400, "{bad:?}");
        }
        assert_eq!(normalize_email(&format!("{}@example.com", "a".repeat(250))).unwrap_err().status, 400);
    }

    fn request(content_type: &str, body: &str) -> Request {
        Request {
            method: "POST".into(),
            path: "/v1/register".into(),
            headers: vec![("content-type".into(), content_type.as_bytes().to_vec())],
            body: body.as_bytes().to_vec(),
            ..Request::default()
        }
    }

    #[test]
    fn bodies_must_be_json_of_the_right_shape() {
        let parse = |ct, body| json_body::<Registration>(&request(ct, body)).err().map(|r| (r.status, r.body));
        assert_eq!(parse("text/plain", "{}").map(|r| r.0), Some(415));
        let (status, body) = parse("application/json", "{not json").unwrap();
        assert_eq!(status, 400);
        assert!(String::from_utf8_lossy(&body).contains("bad_json"));
        let (_, body) = parse("application/json; charset=utf-8", r#"{"email": "a@b.c"}"#).unwrap();
        assert!(String::from_utf8_lossy(&body).contains("invalid_field"));
        let (_, body) = parse("application/json", r#"{"email": "a@b.c", "password": "x", "admin": true}"#).unwrap();
        assert!(String::from_utf8_lossy(&body).contains("invalid_field"));
        assert!(json_body::<Registration>(&request("application/json", r#"{"email":"a@b.c","password":"x"}"#)).is_ok());
    }
}
