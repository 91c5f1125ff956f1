//! Which handler answers which request: one table ([`ROUTES`]) of every path and its handlers per method, from which
//! dispatch and a 405's `Allow` both come; `{id}` in a path matches one segment. An unknown path is 404 and a known
//! path with another method 405, both as JSON. Each request gets its context here (settings, client, time) and
//! every refusal becomes its answer through [`crate::http::error`].

use super::answer::{Answer, Refused};
use super::{accounts, consent, login, mfa, operations, passkeys, service, session, trusted_devices};
use crate::config::Settings;
use crate::domain::context::{self, Client, Ctx};
use crate::http::client::{client_ip, client_location};
use crate::http::{Reply, Request, error};

/// A handler: the request and its context in, the answer out.
pub type Handler = fn(&Request, &Ctx) -> Answer;

/// Every route: its path and a handler per method. The one list both dispatch and 405's `Allow` come from.
pub const ROUTES: &[(&str, &[(&str, Handler)])] = &[
    ("/healthz", &[("GET", operations::healthz)]),
    ("/readyz", &[("GET", operations::ready)]),
    ("/openapi.json", &[("GET", operations::openapi)]),
    ("/v1/admin/migrate", &[("POST", operations::migrate)]),
    ("/v1/admin/metrics", &[("GET", operations::metrics)]),
    ("/v1/admin/reencrypt", &[("POST", operations::reencrypt)]),
    ("/v1/register", &[("POST", accounts::register)]),
    ("/v1/login", &[("POST", login::login)]),
    ("/v1/login/verify", &[("POST", login::verify)]),
    ("/v1/login/sms", &[("POST", login::send_sms)]),
    ("/v1/login/webauthn/options", &[("POST", login::passkey_options)]),
    ("/v1/login/passkey/options", &[("POST", login::passwordless_options)]),
    ("/v1/login/passkey", &[("POST", login::passwordless)]),
    ("/v1/password", &[("POST", accounts::change_password)]),
    ("/v1/session", &[("GET", session::current), ("DELETE", session::logout)]),
    ("/v1/session/refresh", &[("POST", session::refresh)]),
    ("/v1/session/step-up", &[("POST", session::step_up)]),
    ("/v1/session/step-up/sms", &[("POST", session::step_up_sms)]),
    ("/v1/session/step-up/webauthn/options", &[("POST", session::step_up_passkey_options)]),
    ("/v1/sessions", &[("GET", session::list)]),
    ("/v1/sessions/revoke-others", &[("POST", session::revoke_others)]),
    ("/v1/sessions/revoke-all", &[("POST", session::revoke_all)]),
    ("/v1/sessions/{id}", &[("DELETE", session::revoke_one)]),
    ("/v1/activity", &[("GET", session::activity)]),
    ("/v1/account", &[("DELETE", accounts::erase)]),
    ("/v1/account/export", &[("GET", accounts::export)]),
    ("/v1/mfa/factors", &[("GET", mfa::list)]),
    ("/v1/mfa/totp", &[("POST", mfa::totp_start)]),
    ("/v1/mfa/totp/{id}", &[("PATCH", mfa::totp_rename), ("DELETE", mfa::totp_remove)]),
    ("/v1/mfa/totp/{id}/confirm", &[("POST", mfa::totp_confirm)]),
    ("/v1/mfa/totp/{id}/qr.svg", &[("GET", mfa::totp_qr_svg)]),
    ("/v1/mfa/totp/{id}/qr.png", &[("GET", mfa::totp_qr_png)]),
    ("/v1/mfa/sms", &[("POST", mfa::sms_add)]),
    ("/v1/mfa/sms/{id}", &[("DELETE", mfa::sms_remove)]),
    ("/v1/mfa/sms/{id}/confirm", &[("POST", mfa::sms_confirm)]),
    ("/v1/mfa/webauthn/options", &[("POST", passkeys::options)]),
    ("/v1/mfa/webauthn", &[("POST", passkeys::register)]),
    ("/v1/mfa/webauthn/{id}", &[("PATCH", passkeys::rename), ("DELETE", passkeys::delete)]),
    ("/v1/mfa/backup-codes", &[("GET", mfa::backup_codes_left), ("POST", mfa::backup_codes_regenerate)]),
    ("/v1/consent-texts", &[("GET", consent::texts)]),
    ("/v1/consents", &[("GET", consent::list)]),
    ("/v1/consents/{purpose}", &[("DELETE", consent::withdraw)]),
    ("/v1/trusted-devices", &[("GET", trusted_devices::list)]),
    ("/v1/trusted-devices/{id}", &[("DELETE", trusted_devices::revoke)]),
    ("/v1/introspect", &[("POST", service::introspect)]),
    ("/v1/service/users", &[("POST", service::find_or_create)]),
    // Before `/v1/service/users/{id}/...`: an email may be `sessions`.
    ("/v1/service/users/by-email/{email}", &[("GET", service::find_by_email)]),
    ("/v1/service/users/by-external-id/{external_id}", &[("GET", service::find_by_external_id)]),
    ("/v1/service/users/{id}", &[("GET", service::show)]),
    ("/v1/service/users/{id}/external-id", &[("PUT", service::link), ("DELETE", service::unlink)]),
    ("/v1/service/users/{id}/revoke-sessions", &[("POST", service::revoke_sessions)]),
    ("/v1/service/users/{id}/factors", &[("GET", service::factors)]),
    ("/v1/service/users/{id}/sessions", &[("GET", service::sessions), ("POST", service::sign_in)]),
    ("/v1/service/users/{id}/sessions/{sid}", &[("DELETE", service::revoke_session)]),
    ("/v1/service/users/{id}/challenge", &[("POST", service::challenge)]),
    ("/v1/service/users/{id}/reset-second-factor", &[("POST", service::reset_second_factor)]),
    ("/v1/service/users/{id}/second-factor-recovery", &[("POST", service::recover_second_factor)]),
    ("/v1/service/events", &[("GET", service::events)]),
    ("/v1/service/stats", &[("GET", service::stats)]),
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

/// Answers `request` under `settings`.
pub fn route(request: &Request, settings: Settings) -> Reply {
    // Exact paths first, so `/v1/sessions/revoke-all` is never taken for a session id.
    let exact = ROUTES.iter().find(|(path, _)| *path == request.path);
    let Some((_, methods)) = exact.or_else(|| ROUTES.iter().find(|(path, _)| matches(path, &request.path))) else {
        return Reply::error(404, "not_found", "there is no such endpoint");
    };
    let Some((_, handler)) = methods.iter().find(|(method, _)| *method == request.method) else {
        let allowed: Vec<&str> = methods.iter().map(|(method, _)| *method).collect();
        return Reply::error(405, "method_not_allowed", &format!("use {}", allowed.join(" or ")))
            .with_header("allow", allowed.join(", "));
    };
    let client = Client::new(client_ip(request, &settings), request.header("user-agent").unwrap_or(""))
        .at(client_location(request, &settings));
    let ctx = Ctx::new(settings, client, context::now());
    match handler(request, &ctx) {
        Ok(reply) | Err(Refused::Http(reply)) => reply,
        Err(Refused::Domain(refusal)) => error::reply(&refusal, &format!("{} {}", request.method, request.path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::operations::OPENAPI;

    #[test]
    fn patterns_match_one_segment_per_parameter() {
        assert!(matches("/v1/sessions/{id}", "/v1/sessions/abc"));
        assert!(!matches("/v1/sessions/{id}", "/v1/sessions/"));
        assert!(!matches("/v1/sessions/{id}", "/v1/sessions/a/b"));
        assert!(!matches("/v1/sessions/{id}", "/v1/sessions"));
        assert!(matches("/healthz", "/healthz"));
    }

    #[test]
    fn unknown_paths_and_methods_are_json_errors() {
        let request =
            |method: &str, path: &str| Request { method: method.into(), path: path.into(), ..Request::default() };
        let missing = route(&request("GET", "/nowhere"), Settings::from_pairs(&[]));
        assert_eq!(missing.status, 404);
        let wrong = route(&request("PUT", "/v1/session"), Settings::from_pairs(&[]));
        assert_eq!(wrong.status, 405);
        assert!(wrong.headers.iter().any(|(name, value)| name == "allow" && value == "GET, DELETE"));
        assert_eq!(route(&request("GET", "/healthz"), Settings::from_pairs(&[])).status, 200);
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
