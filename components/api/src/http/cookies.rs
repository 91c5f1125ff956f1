//! The browser side of sessions: the `__Host-` session and device cookies, and the header a cookie-authenticated
//! state-changing request carries its CSRF token in ([`crate::domain::auth`] says what the token is).
//!
//! Both cookies are `__Host-` prefixed (`Secure`, `Path=/`, no `Domain`), `HttpOnly` and `SameSite=Strict`.

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
}
