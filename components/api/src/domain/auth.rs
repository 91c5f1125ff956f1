//! Who is asking: the session a request presents (a token from `Authorization: Bearer` or from the session
//! cookie, which must then carry the session's CSRF token on a change), a recent authentication for sensitive
//! changes (step-up), and the service API key.
//!
//! The CSRF token is derived from the session token (SHA-256 of a label and the token): given out with the token
//! at login and refresh and by `GET /v1/session`, readable by a page but not by a cross-site form, and new with
//! every token. (Requests authenticated by `Authorization: Bearer` need none: a browser never adds that header on
//! its own.)

use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::context::Ctx;
use super::error::Error;
use super::events;
use super::sessions::{self as live};
use crate::bindings::mfa::session::policy::SessionPolicy;
use crate::bindings::mfa::session::tokens;
use crate::model::{AuthMethod, EventKind};
use crate::store::sessions::{Found, Session};

/// The session token a request presents, and how.
#[derive(Debug, Clone, Copy)]
pub struct Presented<'a> {
    /// The token.
    pub token: &'a str,
    /// Whether it came from the session cookie (rather than `Authorization: Bearer`).
    pub from_cookie: bool,
    /// The CSRF token sent with it, if any.
    pub csrf: Option<&'a str>,
    /// The request's method.
    pub method: &'a str,
    /// The request's path.
    pub path: &'a str,
}

/// Whether `method` changes state (everything but GET, HEAD and OPTIONS).
pub fn changes_state(method: &str) -> bool {
    !matches!(method, "GET" | "HEAD" | "OPTIONS")
}

/// The CSRF token that goes with session token `token`.
pub fn csrf_token(token: &str) -> String {
    let digest = Sha256::new().chain_update(b"mfa csrf token\0").chain_update(token.as_bytes()).finalize();
    data_encoding::HEXLOWER.encode(&digest)
}

/// Whether `given` is the CSRF token for `token` (constant-time).
pub fn csrf_matches(token: &str, given: &str) -> bool {
    csrf_token(token).as_bytes().ct_eq(given.trim().as_bytes()).into()
}

/// The session presented, checked and current (its activity counted), with the policy in force.
pub fn authenticate(ctx: &Ctx, presented: Option<Presented<'_>>) -> Result<(Session, SessionPolicy), Error> {
    let presented = presented.ok_or(Error::Unauthenticated)?;
    let key = tokens::storage_key(presented.token).map_err(|_| Error::Unauthenticated)?;
    let csrf_refused = presented.from_cookie
        && changes_state(presented.method)
        && !presented.csrf.is_some_and(|given| csrf_matches(presented.token, given));
    let policy = ctx.session_policy()?;
    let store = ctx.store()?;
    if csrf_refused {
        // Whose session was used (if it is one), without counting the refused request as its activity.
        let session = match store.sessions().peek(&key, &policy, ctx.now) {
            Ok(Found::Live(session)) => Some(*session),
            _ => None,
        };
        let detail = json!({"method": presented.method, "path": presented.path});
        let (user_id, session_id) =
            (session.as_ref().map(|s| s.user_id.as_str()), session.as_ref().map(|s| s.id.as_str()));
        events::record(ctx, EventKind::CsrfRefused, user_id, session_id, detail);
        events::record_expired(ctx);
        return Err(Error::CsrfInvalid);
    }
    match live::find(ctx, &key, &policy)? {
        Found::Live(session) => Ok((*session, policy)),
        Found::Ended | Found::Missing => Err(Error::Unauthenticated),
    }
}

/// Refuses unless `session` authenticated recently enough for a sensitive change. A session that skipped the
/// second factor on a trusted device has not re-verified anything: it must step up.
pub fn require_step_up(session: &Session, step_up_validity: u64, now: i64) -> Result<(), Error> {
    let age = u64::try_from(now.saturating_sub(session.auth_time)).unwrap_or(0);
    if age <= step_up_validity && session.method != AuthMethod::TrustedDevice {
        Ok(())
    } else {
        Err(Error::StepUpRequired)
    }
}

/// The session presented, refused unless it authenticated recently ([`require_step_up`]). The start of every
/// sensitive endpoint, and of every endpoint that adds a factor or shows or confirms a pending secret (a first
/// factor too: otherwise whoever holds a stale session could enroll their own authenticator and then step up with
/// it).
pub fn authenticate_recent(ctx: &Ctx, presented: Option<Presented<'_>>) -> Result<(Session, SessionPolicy), Error> {
    let (session, policy) = authenticate(ctx, presented)?;
    require_step_up(&session, policy.step_up_validity, ctx.now)?;
    Ok((session, policy))
}

/// Whether an enrollment started at `created_at` can still be shown or confirmed at `now`: for as long as a
/// step-up is valid, so an abandoned one cannot be finished later by whoever holds the session.
pub fn enrollment_alive(created_at: i64, policy: &SessionPolicy, now: i64) -> bool {
    now.saturating_sub(created_at) <= i64::try_from(policy.step_up_validity).unwrap_or(i64::MAX)
}

/// Refuses a service API request whose bearer key (`given`) is not the configured one, compared in constant time;
/// a refusal is recorded (with the request's `method` and `path`).
pub fn require_service_key(ctx: &Ctx, given: Option<&str>, method: &str, path: &str) -> Result<(), Error> {
    let expected = ctx.settings.api_key().ok_or(Error::ServiceApiDisabled)?;
    let given = given.unwrap_or("");
    // Comparing digests keeps the comparison constant-time whatever the lengths.
    let same: bool = Sha256::digest(given.as_bytes()).ct_eq(&Sha256::digest(expected.as_bytes())).into();
    if same && !given.is_empty() {
        return Ok(());
    }
    let reason = if given.is_empty() { "missing" } else { "wrong" };
    let detail = json!({"reason": reason, "method": method, "path": without_personal_data(path)});
    events::record(ctx, EventKind::ServiceApiKeyRefused, None, None, detail);
    Err(Error::ServiceKeyInvalid)
}

/// `path` without what could name a person (the email or product id of a lookup), as a refused request records it:
/// the event belongs to no account, so erasing one would never reach it.
fn without_personal_data(path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    for (lookup, placeholder) in [("/by-email/", "{email}"), ("/by-external-id/", "{external_id}")] {
        if let Some((before, after)) = path.split_once(lookup) {
            let rest = after.split_once('/').map_or("", |(_, rest)| rest);
            let tail = if rest.is_empty() { String::new() } else { format!("/{rest}") };
            return format!("{before}{lookup}{placeholder}{tail}");
        }
    }
    path.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_belong_to_one_session_token() {
        let token = csrf_token("session-a");
        assert_eq!(token.len(), 64);
        assert!(csrf_matches("session-a", &token));
        assert!(!csrf_matches("session-b", &token));
        assert!(!csrf_matches("session-a", ""));
        assert!(changes_state("POST") && changes_state("DELETE") && !changes_state("GET"));
    }

    #[test]
    fn a_refused_lookup_records_its_path_without_the_email_or_product_id() {
        assert_eq!(
            without_personal_data("/v1/service/users/by-email/ada%40example.com"),
            "/v1/service/users/by-email/{email}"
        );
        assert_eq!(
            without_personal_data("/v1/service/users/by-external-id/crm-42/x?y=1"),
            "/v1/service/users/by-external-id/{external_id}/x"
        );
        assert_eq!(without_personal_data("/v1/service/events?after=3"), "/v1/service/events");
        assert_eq!(without_personal_data("/v1/introspect"), "/v1/introspect");
    }
}
