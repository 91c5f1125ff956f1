//! Which handler answers which request: operations endpoints (`/healthz`, `/readyz`, `POST /v1/admin/migrate`)
//! and accounts (`POST /v1/register`); an unknown path is 404 and a known path with another method 405, both as
//! JSON.

use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::{self, Lookup};
use crate::http::{Reply, Request};
use crate::migrate;
use crate::sql::Db;

/// The app's routes: (path, methods).
pub const ROUTES: &[(&str, &[&str])] =
    &[("/healthz", &["GET"]), ("/readyz", &["GET"]), ("/v1/admin/migrate", &["POST"]), ("/v1/register", &["POST"])];

/// Answers `request`, reading configuration through Spin's variables.
pub fn route(request: &Request) -> Reply {
    route_with(request, &config::spin_variables)
}

/// Answers `request` with configuration from `get`.
pub fn route_with(request: &Request, get: Lookup<'_>) -> Reply {
    let Some((_, methods)) = ROUTES.iter().find(|(path, _)| *path == request.path) else {
        return Reply::error(404, "not_found", "there is no such endpoint");
    };
    if !methods.contains(&request.method.as_str()) {
        return Reply::error(405, "method_not_allowed", &format!("use {}", methods.join(" or ")))
            .with_header("allow", methods.join(", "));
    }
    match request.path.as_str() {
        "/healthz" => Reply::json(200, &json!({"status": "ok"})),
        "/readyz" => ready(get),
        "/v1/register" => crate::accounts::register(request, get),
        "/v1/admin/migrate" => match require_api_key(request, get) {
            Ok(()) => run_migrations(get),
            Err(refusal) => refusal,
        },
        _ => Reply::error(404, "not_found", "there is no such endpoint"),
    }
}

/// Refuses a request without the service API key (`Authorization: Bearer <key>`), compared in constant time.
pub fn require_api_key(request: &Request, get: Lookup<'_>) -> Result<(), Reply> {
    let Some(expected) = config::api_key(get) else {
        return Err(Reply::error(401, "unauthorized", "the service API is disabled: set the api_key variable"));
    };
    let given = request.header("authorization").and_then(|value| value.strip_prefix("Bearer ")).unwrap_or("");
    // Comparing digests keeps the comparison constant-time whatever the lengths.
    let same: bool = Sha256::digest(given.as_bytes()).ct_eq(&Sha256::digest(expected.as_bytes())).into();
    if same && !given.is_empty() {
        Ok(())
    } else {
        Err(Reply::error(401, "unauthorized", "a valid service API key is required")
            .with_header("www-authenticate", "Bearer"))
    }
}

fn ready(get: Lookup<'_>) -> Reply {
    let db = match Db::open(get) {
        Ok(db) => db,
        Err(error) => {
            eprintln!("readyz: {error}");
            return Reply::error(503, "not_ready", "the database cannot be reached");
        }
    };
    match migrate::current(&db) {
        Ok(version) if version == migrate::latest() => {
            Reply::json(200, &json!({"status": "ready", "schema_version": version}))
        }
        Ok(version) => Reply::error(
            503,
            "not_ready",
            &format!("the schema is at version {version}, {} is needed: POST /v1/admin/migrate", migrate::latest()),
        ),
        Err(error) => {
            eprintln!("readyz: {error}");
            Reply::error(503, "not_ready", "the database cannot be queried")
        }
    }
}

fn run_migrations(get: Lookup<'_>) -> Reply {
    let result = Db::open(get).and_then(|db| migrate::migrate(&db).map(|applied| (applied, migrate::current(&db))));
    match result {
        Ok((applied, Ok(version))) => Reply::json(200, &json!({"applied": applied, "schema_version": version})),
        Ok((_, Err(error))) | Err(error) => {
            eprintln!("migrate: {error}");
            Reply::error(503, "migration_failed", "the migrations could not be applied; see the service log")
        }
    }
}
