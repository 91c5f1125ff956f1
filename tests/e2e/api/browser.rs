//! A browser's view, on both backends: the `__Host-` session and device cookies, the CSRF token that a
//! cookie-authenticated change needs, and the risk signals a login raises.

use super::TestApp;
use super::app::BACKENDS;

const PASSWORD: &str = "correct horse battery staple";
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0";
const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0.0.0 Safari/537.36";

#[test]
fn the_session_cookie_works_and_changes_need_the_csrf_token() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend);
        assert_eq!(app.register("web@example.com", PASSWORD).status, 201);
        let login = app.login("web@example.com", PASSWORD, &[("user-agent", FIREFOX)]);
        assert_eq!(login.status, 201, "{backend:?}: {login:?}");
        let (token, header) = login.set_cookie("__Host-mfa_session").expect("a session cookie");
        assert_eq!(token, login.json()["token"].as_str().unwrap());
        for attribute in ["Path=/", "Secure", "HttpOnly", "SameSite=Strict", "Max-Age=86400"] {
            assert!(header.contains(attribute), "{backend:?}: {header}");
        }
        let (device, device_header) = login.set_cookie("__Host-mfa_device").expect("a device cookie");
        assert!(device_header.contains("HttpOnly") && device_header.contains("Secure"), "{device_header}");
        assert_eq!(device.len(), 43, "256 bits");
        let csrf = login.json()["csrf_token"].as_str().unwrap().to_owned();

        // Reading with the cookie needs nothing more; it also hands out the CSRF token.
        let cookie = format!("__Host-mfa_session={token}; __Host-mfa_device={device}");
        let current = app.request("GET", "/v1/session", &[("cookie", &cookie)], "");
        assert_eq!(current.status, 200, "{backend:?}: {current:?}");
        assert_eq!(current.json()["csrf_token"], csrf.as_str());
        assert_eq!(current.json()["session"]["device_label"], "Firefox on Linux");

        // A change through the cookie without the token, or with another session's, is refused.
        for headers in [vec![("cookie", cookie.as_str())], vec![("cookie", cookie.as_str()), ("x-csrf-token", "0bad")]]
        {
            let refused = app.request("POST", "/v1/session/refresh", &headers, "");
            assert_eq!((refused.status, refused.error_code().as_str()), (403, "csrf_token_invalid"), "{backend:?}");
        }
        // With it, the change goes through and a new cookie replaces the old one.
        let refreshed = app.request("POST", "/v1/session/refresh", &[("cookie", &cookie), ("x-csrf-token", &csrf)], "");
        assert_eq!(refreshed.status, 200, "{backend:?}: {refreshed:?}");
        let (new_token, _) = refreshed.set_cookie("__Host-mfa_session").unwrap();
        assert_ne!(new_token, token);
        let new_csrf = refreshed.json()["csrf_token"].as_str().unwrap().to_owned();
        assert_ne!(new_csrf, csrf, "the CSRF token follows the session token");
        let new_cookie = format!("__Host-mfa_session={new_token}");
        // Logout through the cookie clears it.
        let old = app.request("DELETE", "/v1/session", &[("cookie", &new_cookie), ("x-csrf-token", &csrf)], "");
        assert_eq!(old.status, 403, "{backend:?}: the old CSRF token died with the old session token");
        let logout = app.request("DELETE", "/v1/session", &[("cookie", &new_cookie), ("x-csrf-token", &new_csrf)], "");
        assert_eq!(logout.status, 200, "{backend:?}: {logout:?}");
        let (cleared, header) = logout.set_cookie("__Host-mfa_session").unwrap();
        assert!(cleared.is_empty() && header.contains("Max-Age=0"), "{header}");
        assert_eq!(app.request("GET", "/v1/session", &[("cookie", &new_cookie)], "").status, 401);
        // A bearer token needs no CSRF token (a browser never sends that header by itself).
        let bearer = app.login("web@example.com", PASSWORD, &[]).json()["token"].as_str().unwrap().to_owned();
        let auth = format!("Bearer {bearer}");
        assert_eq!(app.request("POST", "/v1/session/refresh", &[("authorization", &auth)], "").status, 200);
    }
}

#[test]
fn logins_raise_risk_signals_that_show_with_the_session_and_as_events() {
    for backend in BACKENDS {
        let app = TestApp::migrated(backend, &[("trusted_proxies", "127.0.0.1")]);
        assert_eq!(app.register("risk@example.com", PASSWORD).status, 201);
        let login = |agent: &str, ip: &str, device: Option<&str>| {
            let cookie = device.map(|d| format!("__Host-mfa_device={d}")).unwrap_or_default();
            let mut headers = vec![("user-agent", agent), ("x-forwarded-for", ip)];
            if device.is_some() {
                headers.push(("cookie", cookie.as_str()));
            }
            let answer = app.login("risk@example.com", PASSWORD, &headers);
            assert_eq!(answer.status, 201, "{backend:?}: {answer:?}");
            answer
        };
        let signals = |answer: &super::app::Answer| -> Vec<String> {
            answer.json()["risk_signals"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_owned()).collect()
        };
        let first = login(FIREFOX, "192.0.2.1", None);
        assert_eq!(signals(&first), ["new_device", "new_ip"], "{backend:?}");
        let (device, _) = first.set_cookie("__Host-mfa_device").unwrap();
        // The same browser again: quiet, and no new device cookie.
        let again = login(FIREFOX, "192.0.2.1", Some(&device));
        assert!(signals(&again).is_empty(), "{backend:?}: {again:?}");
        assert!(again.set_cookie("__Host-mfa_device").is_none());
        // The same device cookie with another browser, from a new address.
        let changed = login(CHROME, "198.51.100.3", Some(&device));
        assert_eq!(signals(&changed), ["new_ip", "user_agent_changed"], "{backend:?}");
        // No cookie from a known address: a new device only.
        assert_eq!(signals(&login(FIREFOX, "192.0.2.1", None)), ["new_device"], "{backend:?}");

        let token = changed.json()["token"].as_str().unwrap().to_owned();
        let auth = format!("Bearer {token}");
        let listed = app.request("GET", "/v1/sessions", &[("authorization", &auth)], "").json();
        let shown: Vec<(String, Vec<serde_json::Value>)> = listed["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["device_label"].as_str().unwrap().to_owned(), s["risk_signals"].as_array().unwrap().clone()))
            .collect();
        assert_eq!(shown.len(), 4, "{backend:?}: {listed}");
        assert!(shown.iter().any(|(label, _)| label == "Chrome on Windows"), "{shown:?}");
        let events = app.request("GET", "/v1/activity", &[("authorization", &auth)], "").json();
        let risky = events["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "login_risk").count();
        assert_eq!(risky, 3, "{backend:?}: {events}");
    }
}
