//! The browser side of sessions: the `__Host-` session and device cookies, and the CSRF token that a
//! cookie-authenticated state-changing request must echo.
//!
//! Both cookies are `__Host-` prefixed (`Secure`, `Path=/`, no `Domain`), `HttpOnly` and `SameSite=Strict`. A
//! request authenticated by the session cookie with a method other than GET or HEAD must carry `X-CSRF-Token`: a
//! value derived from the session token (SHA-256 of a label and the token), given out with the token at login and
//! refresh and by `GET /v1/session`. A page can read it; a cross-site form cannot, and it changes with every new
//! token. (Requests authenticated by `Authorization: Bearer` need no such token: a browser never adds that header
//! on its own.)

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "__Host-mfa_session";

/// The device cookie's name.
pub const DEVICE_COOKIE: &str = "__Host-mfa_device";

/// The header carrying the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// How long a device cookie lives: 400 days, the most browsers keep a cookie.
const DEVICE_COOKIE_SECONDS: u64 = 400 * 24 * 3600;

fn cookie(name: &str, value: &str, max_age: u64) -> String {
    format!("{name}={value}; Max-Age={max_age}; Path=/; Secure; HttpOnly; SameSite=Strict")
}

/// `Set-Cookie` for a session token living `max_age` seconds at most.
pub fn session_cookie(token: &str, max_age: u64) -> String {
    cookie(SESSION_COOKIE, token, max_age)
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_session_cookie() -> String {
    cookie(SESSION_COOKIE, "", 0)
}

/// `Set-Cookie` for a new device id.
pub fn device_cookie(device_id: &str) -> String {
    cookie(DEVICE_COOKIE, device_id, DEVICE_COOKIE_SECONDS)
}

/// The CSRF token that goes with session token `token`.
pub fn csrf_token(token: &str) -> String {
    let digest = Sha256::new().chain_update(b"mfa csrf token\0").chain_update(token.as_bytes()).finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `given` is the CSRF token for `token` (constant-time).
pub fn csrf_matches(token: &str, given: &str) -> bool {
    csrf_token(token).as_bytes().ct_eq(given.trim().as_bytes()).into()
}

/// Whether `method` changes state (everything but GET, HEAD and OPTIONS).
pub fn changes_state(method: &str) -> bool {
    !matches!(method, "GET" | "HEAD" | "OPTIONS")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_carry_every_protective_attribute() {
        let set = session_cookie("tok", 86_400);
        assert!(set.starts_with("__Host-mfa_session=tok;"));
        for attribute in ["Max-Age=86400", "Path=/", "Secure", "HttpOnly", "SameSite=Strict"] {
            assert!(set.contains(attribute), "{set}");
        }
        assert!(!set.contains("Domain"));
        assert!(clear_session_cookie().contains("Max-Age=0"));
        assert!(device_cookie("dev").starts_with("__Host-mfa_device=dev;"));
    }

    #[test]
    fn csrf_tokens_belong_to_one_session_token() {
        let token = csrf_token("session-a");
        assert_eq!(token.len(), 64);
        assert!(csrf_matches("session-a", &token));
        assert!(!csrf_matches("session-b", &token));
        assert!(!csrf_matches("session-a", ""));
        assert!(changes_state("POST") && changes_state("DELETE") && !changes_state("GET"));
    }
}
