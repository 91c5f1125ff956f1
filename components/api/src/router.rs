//! Which handler answers which request: one table ([`ROUTES`]) of every path and its handlers per method, from which
//! dispatch and a 405's `Allow` both come; `{id}` in a path matches one segment. An unknown path is 404 and a known
//! path with another method 405, both as JSON. The operations endpoints (`/healthz`, `/readyz`,
//! `POST /v1/admin/migrate`, `GET /v1/admin/metrics`) and `/openapi.json` ([`OPENAPI`], kept equal to the table by
//! a test) live here.

use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::{self, Lookup};
use crate::http::{Reply, Request};
use crate::migrate;
use crate::sql::Db;

/// A handler: the request and the configuration in, the answer out.
pub type Handler = fn(&Request, Lookup<'_>) -> Reply;

/// Every route: its path and a handler per method. The one list both dispatch and 405's `Allow` come from.
pub const ROUTES: &[(&str, &[(&str, Handler)])] = &[
    ("/healthz", &[("GET", healthz)]),
    ("/readyz", &[("GET", ready)]),
    ("/openapi.json", &[("GET", openapi)]),
    ("/v1/admin/migrate", &[("POST", migrate_endpoint)]),
    ("/v1/admin/metrics", &[("GET", metrics_endpoint)]),
    ("/v1/register", &[("POST", crate::accounts::register)]),
    ("/v1/login", &[("POST", crate::login::login)]),
    ("/v1/login/verify", &[("POST", crate::challenge::verify)]),
    ("/v1/login/sms", &[("POST", crate::challenge::send_sms)]),
    ("/v1/password", &[("POST", crate::accounts::change_password)]),
    ("/v1/session", &[("GET", crate::auth::current), ("DELETE", crate::auth::logout)]),
    ("/v1/session/refresh", &[("POST", crate::session_api::refresh)]),
    ("/v1/session/step-up", &[("POST", crate::step_up::step_up)]),
    ("/v1/session/step-up/sms", &[("POST", crate::step_up::send_sms)]),
    ("/v1/sessions", &[("GET", crate::session_api::list)]),
    ("/v1/sessions/revoke-others", &[("POST", crate::session_api::revoke_others)]),
    ("/v1/sessions/revoke-all", &[("POST", crate::session_api::revoke_everything)]),
    ("/v1/sessions/{id}", &[("DELETE", crate::session_api::revoke_one)]),
    ("/v1/activity", &[("GET", crate::session_api::activity)]),
    ("/v1/account", &[("DELETE", crate::privacy::erase_endpoint)]),
    ("/v1/account/export", &[("GET", crate::privacy::export_endpoint)]),
    ("/v1/mfa/factors", &[("GET", crate::totp_api::list)]),
    ("/v1/mfa/totp", &[("POST", crate::totp_api::start)]),
    ("/v1/mfa/totp/{id}", &[("DELETE", crate::totp_api::remove)]),
    ("/v1/mfa/totp/{id}/confirm", &[("POST", crate::totp_api::confirm)]),
    ("/v1/mfa/totp/{id}/qr.svg", &[("GET", crate::totp_api::qr_svg)]),
    ("/v1/mfa/totp/{id}/qr.png", &[("GET", crate::totp_api::qr_png)]),
    ("/v1/mfa/sms", &[("POST", crate::sms_api::add)]),
    ("/v1/mfa/sms/{id}", &[("DELETE", crate::sms_api::remove)]),
    ("/v1/mfa/sms/{id}/confirm", &[("POST", crate::sms_api::confirm)]),
    ("/v1/mfa/backup-codes", &[("GET", crate::backup_codes::status), ("POST", crate::backup_codes::regenerate)]),
    ("/v1/trusted-devices", &[("GET", crate::trusted_devices::list)]),
    ("/v1/trusted-devices/{id}", &[("DELETE", crate::trusted_devices::revoke)]),
    ("/v1/introspect", &[("POST", crate::service_api::introspect)]),
    ("/v1/service/users", &[("POST", crate::service_users::find_or_create)]),
    ("/v1/service/users/{id}", &[("GET", crate::service_users::show)]),
    ("/v1/service/users/{id}/revoke-sessions", &[("POST", crate::service_users::revoke_sessions)]),
    ("/v1/service/users/{id}/challenge", &[("POST", crate::service_users::challenge)]),
    ("/v1/service/users/{id}/reset-second-factor", &[("POST", crate::service_users::reset_second_factor)]),
];

/// Whether `pattern` (segments, `{name}` matching any one non-empty segment) matches `path`.
fn matches(pattern: &str, path: &str) -> bool {
    let (mut pattern, mut path) = (pattern.split('/'), path.split('/'));
    loop {
        match (pattern.next(), path.next()) {
            (None, None) => return true,
            (Some(p), Some(s)) if p.starts_with('{') && p.ends_with('}') && !s.is_empty() => {}
            (Some(p), Some(s)) if p == s => {}
            _ => return false,
        }
    }
}

/// Answers `request`, reading configuration through Spin's variables.
pub fn route(request: Request) -> Reply {
    route_with(request, &config::spin_variables)
}

/// Answers `request` with configuration from `get` (which also decides who the client is: [`crate::client`]).
pub fn route_with(mut request: Request, get: Lookup<'_>) -> Reply {
    request.client_ip = crate::client::client_ip(&request, get);
    let request = &request;
    // Exact paths first, so `/v1/sessions/revoke-all` is never taken for a session id.
    let exact = ROUTES.iter().find(|(path, _)| *path == request.path);
    let Some((_, methods)) = exact.or_else(|| ROUTES.iter().find(|(path, _)| matches(path, &request.path))) else {
        return Reply::error(404, "not_found", "there is no such endpoint");
    };
    match methods.iter().find(|(method, _)| *method == request.method) {
        Some((_, handler)) => handler(request, get),
        None => {
            let allowed: Vec<&str> = methods.iter().map(|(method, _)| *method).collect();
            Reply::error(405, "method_not_allowed", &format!("use {}", allowed.join(" or ")))
                .with_header("allow", allowed.join(", "))
        }
    }
}

/// The OpenAPI 3.1 description of every route (kept true by the tests below).
pub const OPENAPI: &str = include_str!("../openapi.json");

fn openapi(_: &Request, _: Lookup<'_>) -> Reply {
    Reply::content("application/json", OPENAPI.into())
}

fn healthz(_: &Request, _: Lookup<'_>) -> Reply {
    Reply::json(200, &json!({"status": "ok"}))
}

fn migrate_endpoint(request: &Request, get: Lookup<'_>) -> Reply {
    if let Err(refusal) = require_api_key(request, get) {
        return refusal;
    }
    // Called once at start (`mfa-host up`, or the deployment's first call): a policy that would break every login
    // stops the start here, not at the first user.
    if let Err(refusal) = policy_checked(get) {
        return refusal;
    }
    run_migrations(get)
}

/// `GET /v1/admin/metrics` (service API key): the app's own counters in Prometheus' text format.
fn metrics_endpoint(request: &Request, get: Lookup<'_>) -> Reply {
    if let Err(refusal) = require_api_key(request, get) {
        return refusal;
    }
    match crate::sessions::Store::open(get).and_then(|store| crate::app_metrics::all(&store)) {
        Ok(counters) => Reply::content(
            "text/plain; version=0.0.4; charset=utf-8",
            crate::app_metrics::exposition(&counters).into_bytes(),
        ),
        Err(error) => crate::auth::unavailable("metrics", &error),
    }
}

/// 503 `invalid_policy`, naming the variable and the rule it breaks, unless every policy variable is usable.
fn policy_checked(get: Lookup<'_>) -> Result<(), Reply> {
    crate::policy::check_all(get).map_err(|error| {
        eprintln!("{error}");
        Reply::error(503, "invalid_policy", &error.to_string())
    })
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
        let reason = if given.is_empty() { "missing" } else { "wrong" };
        let detail = json!({"reason": reason, "method": request.method, "path": request.path});
        crate::auth::record_refusal(request, get, "service_api_key_refused", detail);
        Err(Reply::error(401, "unauthorized", "a valid service API key is required")
            .with_header("www-authenticate", "Bearer"))
    }
}

fn ready(_: &Request, get: Lookup<'_>) -> Reply {
    if let Err(refusal) = policy_checked(get) {
        return refusal;
    }
    let store = match crate::sessions::Store::open(get).and_then(|store| store.ping().map(|()| store)) {
        Ok(store) => store,
        Err(error) => {
            eprintln!("readyz: {error}");
            let what = match error {
                crate::sessions::StoreError::Redis(_) => "the session store cannot be reached",
                _ => "the database cannot be reached",
            };
            return Reply::error(503, "not_ready", what);
        }
    };
    match migrate::current(store.db()) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_one_segment_per_parameter() {
        assert!(matches("/v1/sessions/{id}", "/v1/sessions/abc"));
        assert!(!matches("/v1/sessions/{id}", "/v1/sessions/"));
        assert!(!matches("/v1/sessions/{id}", "/v1/sessions/a/b"));
        assert!(!matches("/v1/sessions/{id}", "/v1/sessions"));
        assert!(matches("/healthz", "/healthz"));
    }

    #[test]
    fn the_openapi_document_describes_exactly_the_routes() {
        let document: serde_json::Value = serde_json::from_str(OPENAPI).unwrap();
        assert_eq!(document.get("openapi").and_then(|v| v.as_str()), Some("3.1.0"));
        let paths = document.get("paths").and_then(|p| p.as_object()).unwrap();
        let mut documented: Vec<(String, String)> = paths
            .iter()
            .flat_map(|(path, item)| {
                item.as_object().unwrap().keys().map(move |method| (path.clone(), method.to_ascii_uppercase()))
            })
            .collect();
        let mut routed: Vec<(String, String)> = ROUTES
            .iter()
            .flat_map(|(path, methods)| {
                methods.iter().map(move |(method, _)| ((*path).to_owned(), (*method).to_owned()))
            })
            .collect();
        documented.sort();
        routed.sort();
        assert_eq!(documented, routed);
        // Every operation documents its answers, each error one with its stable codes.
        for (path, item) in paths {
            for (method, operation) in item.as_object().unwrap() {
                let responses = operation.get("responses").and_then(|r| r.as_object()).unwrap();
                assert!(responses.keys().any(|status| status.starts_with('2')), "{method} {path}");
                for (status, response) in responses {
                    let documented_codes = response.get("x-error-codes").is_some() || response.get("$ref").is_some();
                    assert!(status.starts_with('2') || documented_codes, "{method} {path} {status}");
                }
            }
        }
    }
}
