//! The service API's users, for a product backend that keeps its own user ids (authenticated by the service API
//! key, as every service endpoint):
//!
//! - `POST /v1/service/users` `{"external_id", "email"?}`: finds the user with that external id, or creates one
//!   (201; 200 when it existed). Creating twice at once creates once. A user created here has no password: the
//!   product authenticates them itself and uses this service for their second factors and sessions.
//! - `GET /v1/service/users/{id}`: one user.
//! - `POST /v1/service/users/{id}/revoke-sessions`: ends every session of the user at once (each recorded and
//!   shown to the user as `session_revoked` with reason `service_api`).
//! - `POST /v1/service/users/{id}/challenge`: starts a second-factor challenge for a user the product backend has
//!   authenticated itself; the user then verifies it with `POST /v1/login/verify` (409 `no_second_factor` if none).
//! - `POST /v1/service/users/{id}/reset-second-factor`: lifts a second-factor lock, or the disabling after too many
//!   consecutive failures (after the product re-established who the user is).

use serde::Deserialize;
use serde_json::json;

use crate::accounts::{json_body, new_user_id, normalize_email};
use crate::auth::{policy_or_reply, record, unavailable};
use crate::clock::now;
use crate::config::Lookup;
use crate::http::{Reply, Request};
use crate::router::require_api_key;
use crate::sessions::Store;
use crate::sql::{Db, DbError, SqlValue};

/// The longest external id accepted.
const MAX_EXTERNAL_ID: usize = 255;

/// The path prefix of one user.
const USER_PREFIX: &str = "/v1/service/users/";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    external_id: String,
    #[serde(default)]
    email: Option<String>,
}

fn user_json(row: &[SqlValue]) -> serde_json::Value {
    match row {
        [id, external, email, created] => json!({
            "id": id.as_str(),
            "external_id": external.as_str(),
            "email": email.as_str(),
            "created_at": created.as_i64(),
        }),
        _ => json!({}),
    }
}

const USER_COLUMNS: &str = "SELECT id, external_id, email, created_at FROM users";

fn find(db: &Db, column: &str, value: &str) -> Result<Option<Vec<SqlValue>>, DbError> {
    let rows = db.query(&format!("{USER_COLUMNS} WHERE {column} = $1"), &[SqlValue::Text(value.to_owned())])?;
    Ok(rows.into_iter().next())
}

/// The `{id}` segment of `/v1/service/users/{id}[/...]`.
fn user_id_of(request: &Request) -> &str {
    request.path.strip_prefix(USER_PREFIX).and_then(|rest| rest.split('/').next()).unwrap_or("")
}

/// `POST /v1/service/users`.
pub fn find_or_create(request: &Request, get: Lookup<'_>) -> Reply {
    if let Err(refusal) = require_api_key(request, get) {
        return refusal;
    }
    let body: NewUser = match json_body(request) {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let external_id = body.external_id.trim();
    if external_id.is_empty() || external_id.len() > MAX_EXTERNAL_ID || external_id.chars().any(char::is_control) {
        return Reply::error(
            400,
            "invalid_external_id",
            "external_id must have 1 to 255 bytes (UTF-8), no control character",
        );
    }
    let email = match body.email.as_deref().map(normalize_email).transpose() {
        Ok(email) => email,
        Err(refusal) => return refusal,
    };
    let store = match Store::open(get) {
        Ok(store) => store,
        Err(error) => return unavailable("service users", &error),
    };
    let db = store.db();
    match find(db, "external_id", external_id) {
        Ok(Some(row)) => return Reply::json(200, &json!({"user": user_json(&row), "created": false})),
        Ok(None) => {}
        Err(error) => return unavailable("service users", &error),
    }
    let id = match new_user_id() {
        Ok(id) => id,
        Err(refusal) => return refusal,
    };
    let now = now();
    let inserted = db.execute(
        "INSERT INTO users (id, external_id, email, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)",
        &[
            SqlValue::Text(id.clone()),
            SqlValue::Text(external_id.to_owned()),
            email.clone().map_or(SqlValue::Null, SqlValue::Text),
            SqlValue::Int(now),
        ],
    );
    match inserted {
        Ok(_) => match find(db, "id", &id) {
            Ok(Some(row)) => {
                let detail = json!({"via": "service_api", "with_email": email.is_some()});
                record(&store, request, "user_created", Some(&id), None, detail, now);
                Reply::json(201, &json!({"user": user_json(&row), "created": true}))
            }
            Ok(None) => Reply::error(503, "unavailable", "the user could not be read back"),
            Err(error) => unavailable("service users", &error),
        },
        // Created meanwhile by a parallel call, or the email belongs to another user.
        Err(DbError::Conflict) => match find(db, "external_id", external_id) {
            Ok(Some(row)) => Reply::json(200, &json!({"user": user_json(&row), "created": false})),
            Ok(None) => Reply::error(409, "email_taken", "another user already has this email"),
            Err(error) => unavailable("service users", &error),
        },
        Err(error) => unavailable("service users", &error),
    }
}

/// `GET /v1/service/users/{id}`.
pub fn show(request: &Request, get: Lookup<'_>) -> Reply {
    if let Err(refusal) = require_api_key(request, get) {
        return refusal;
    }
    let db = match Db::open(get) {
        Ok(db) => db,
        Err(error) => return unavailable("service users", &error),
    };
    match find(&db, "id", user_id_of(request)) {
        Ok(Some(row)) => Reply::json(200, &json!({"user": user_json(&row)})),
        Ok(None) => Reply::error(404, "user_not_found", "there is no user with this id"),
        Err(error) => unavailable("service users", &error),
    }
}

/// `POST /v1/service/users/{id}/revoke-sessions`.
pub fn revoke_sessions(request: &Request, get: Lookup<'_>) -> Reply {
    if let Err(refusal) = require_api_key(request, get) {
        return refusal;
    }
    let policy = match policy_or_reply(get) {
        Ok(policy) => policy,
        Err(refusal) => return refusal,
    };
    let store = match Store::open(get) {
        Ok(store) => store,
        Err(error) => return unavailable("service revoke", &error),
    };
    let user_id = user_id_of(request);
    match find(store.db(), "id", user_id) {
        Ok(Some(_)) => {}
        Ok(None) => return Reply::error(404, "user_not_found", "there is no user with this id"),
        Err(error) => return unavailable("service revoke", &error),
    }
    let now = now();
    let sessions = store.list(user_id, &policy, now);
    crate::auth::record_expired(&store, request, now);
    let sessions = match sessions {
        Ok(sessions) => sessions,
        Err(error) => return unavailable("service revoke", &error),
    };
    let mut revoked = Vec::new();
    for session in &sessions {
        if let Err(error) = store.end(session, "revoked", now) {
            return unavailable("service revoke", &error);
        }
        let detail = json!({"reason": "service_api"});
        record(&store, request, "session_revoked", Some(user_id), Some(&session.id), detail, now);
        revoked.push(session.id.clone());
    }
    Reply::json(200, &json!({"revoked": revoked}))
}

/// The store and the existing user `{id}` of a service request, or the answer.
fn service_user<'a>(request: &'a Request, get: Lookup<'_>) -> Result<(Store, &'a str), Reply> {
    require_api_key(request, get)?;
    let store = Store::open(get).map_err(|error| unavailable("service users", &error))?;
    let user_id = user_id_of(request);
    match find(store.db(), "id", user_id) {
        Ok(Some(_)) => Ok((store, user_id)),
        Ok(None) => Err(Reply::error(404, "user_not_found", "there is no user with this id")),
        Err(error) => Err(unavailable("service users", &error)),
    }
}

/// `POST /v1/service/users/{id}/challenge`.
pub fn challenge(request: &Request, get: Lookup<'_>) -> Reply {
    match service_user(request, get) {
        Ok((store, user_id)) => {
            let device = crate::login::Device { hash: String::new(), new_id: None };
            crate::challenge::issue(&store, request, user_id, &device, now())
        }
        Err(refusal) => refusal,
    }
}

/// `POST /v1/service/users/{id}/reset-second-factor`.
pub fn reset_second_factor(request: &Request, get: Lookup<'_>) -> Reply {
    let (store, user_id) = match service_user(request, get) {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    match crate::lockout::reset(store.db(), user_id) {
        Ok(was) => {
            record(&store, request, "second_factor_reset", Some(user_id), None, json!({"by": "service_api"}), now());
            Reply::json(200, &json!({"reset": was}))
        }
        Err(error) => unavailable("service users", &error),
    }
}
