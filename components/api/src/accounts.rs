//! Accounts: registration with email and password.
//!
//! Registration does not reveal whether an email is already registered: a new email and a taken one get the same
//! `201 {"status": "registered"}` after the same work (the password is checked and hashed in both cases, and the
//! insert is attempted; a uniqueness refusal is not reported). The owner of a taken email is unaffected, and the
//! caller learns nothing a login attempt would not also tell. (Limiting registrations per client address arrives
//! with the throttling counters.)

use serde::Deserialize;
use serde_json::json;

use crate::clock::now;
use crate::config::Lookup;
use crate::events::{self, Event};
use crate::http::{Reply, Request};
use crate::password::{self, PasswordError};
use crate::sql::{Db, DbError, SqlValue};

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
        return invalid("the email must have 1 to 254 characters");
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
    };
    Reply::error(400, code, &error.to_string())
}

/// A new random user id (128 bits, hex).
fn new_user_id() -> Result<String, Reply> {
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
    let Ok(hash) = password::hash(&registration.password) else {
        return Reply::error(500, "internal_error", "the password could not be hashed");
    };
    let id = match new_user_id() {
        Ok(id) => id,
        Err(refusal) => return refusal,
    };
    let db = match Db::open(get) {
        Ok(db) => db,
        Err(error) => {
            eprintln!("register: {error}");
            return Reply::error(503, "unavailable", "the service cannot reach its database");
        }
    };
    let now = now();
    let inserted = db.execute(
        "INSERT INTO users (id, email, password_hash, created_at, updated_at, password_changed_at) \
         VALUES ($1, $2, $3, $4, $4, $4)",
        &[SqlValue::Text(id.clone()), SqlValue::Text(email.clone()), SqlValue::Text(hash), SqlValue::Int(now)],
    );
    let (ip, user_agent) = crate::auth::client(request);
    let record = |kind: &str, user_id: Option<&str>| {
        let event = Event { kind, user_id, session_id: None, detail: json!({}), ip: &ip, user_agent: &user_agent };
        events::record_or_log(&db, &event, now);
    };
    match &inserted {
        Ok(_) => record("registered", Some(&id)),
        Err(DbError::Conflict) => {
            // The owner of the email sees that someone tried to register it again.
            let owner = db
                .query("SELECT id FROM users WHERE email = $1", &[SqlValue::Text(email.clone())])
                .ok()
                .and_then(|rows| rows.first().and_then(|row| row.first()).and_then(|v| v.as_str().map(str::to_owned)));
            record("registration_for_existing_email", owner.as_deref());
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
            query: String::new(),
            headers: vec![("content-type".into(), content_type.as_bytes().to_vec())],
            body: body.as_bytes().to_vec(),
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
