//! Who is calling, read from the request for the domain: the session token presented (the `Authorization` header
//! wins over the session cookie), the service API key, the `{id}` segment of a path. A restricted session (MFA
//! enforcement, [`crate::domain::enforcement`]) passes only the `enrolling_` variants, which the endpoints it may
//! use (its status, logout, step-up, enrolling a factor) call.

use crate::bindings::mfa::session::policy::SessionPolicy;
use crate::domain::auth::{self, Presented};
use crate::domain::context::Ctx;
use crate::domain::enforcement;
use crate::domain::error::Error;
use crate::http::Request;
use crate::http::cookies::{CSRF_HEADER, SESSION_COOKIE};
use crate::store::sessions::Session;

/// The session token a request presents, and whether it came from the cookie (the `Authorization` header wins).
pub fn presented_token(request: &Request) -> Option<(&str, bool)> {
    match request.header("authorization") {
        Some(value) => value.strip_prefix("Bearer ").map(|token| (token.trim(), false)),
        None => request.cookie(SESSION_COOKIE).filter(|token| !token.is_empty()).map(|token| (token, true)),
    }
}

fn presented(request: &Request) -> Option<Presented<'_>> {
    presented_token(request).map(|(token, from_cookie)| Presented {
        token,
        from_cookie,
        csrf: request.header(CSRF_HEADER),
        method: &request.method,
        path: &request.path,
    })
}

/// The session the request presents, checked and current; a restricted one is refused.
pub fn session(request: &Request, ctx: &Ctx) -> Result<(Session, SessionPolicy), Error> {
    unrestricted(enrolling_session(request, ctx)?)
}

/// The session the request presents, authenticated recently enough for a sensitive change; a restricted one is
/// refused.
pub fn recent_session(request: &Request, ctx: &Ctx) -> Result<(Session, SessionPolicy), Error> {
    unrestricted(recent_enrolling_session(request, ctx)?)
}

/// As [`session`], a restricted session included.
pub fn enrolling_session(request: &Request, ctx: &Ctx) -> Result<(Session, SessionPolicy), Error> {
    auth::authenticate(ctx, presented(request))
}

/// As [`recent_session`], a restricted session included.
pub fn recent_enrolling_session(request: &Request, ctx: &Ctx) -> Result<(Session, SessionPolicy), Error> {
    auth::authenticate_recent(ctx, presented(request))
}

fn unrestricted(checked: (Session, SessionPolicy)) -> Result<(Session, SessionPolicy), Error> {
    enforcement::require_unrestricted(&checked.0)?;
    Ok(checked)
}

/// Refuses a request without the service API key (`Authorization: Bearer <key>`).
pub fn service(request: &Request, ctx: &Ctx) -> Result<(), Error> {
    let given = request.header("authorization").and_then(|value| value.strip_prefix("Bearer "));
    auth::require_service_key(ctx, given, &request.method, &request.path)
}

/// The segment after `prefix` in the request's path, up to the next `/` (`{id}` of `/v1/things/{id}/...`).
pub fn path_id<'a>(request: &'a Request, prefix: &str) -> &'a str {
    request.path.strip_prefix(prefix).and_then(|rest| rest.split('/').next()).unwrap_or("")
}
