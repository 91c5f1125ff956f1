//! The password-guessing limits and the registration limit, each with short configured windows so that their
//! expiry is seen too; on both backends. Different client addresses come through `X-Forwarded-For` from a
//! trusted proxy (the test client on loopback), which also shows that only a trusted peer's header is believed.

use std::time::Duration;

use super::TestApp;
use super::app::{Answer, BACKENDS};
use super::race::{AT_ONCE, Call, all_at_once};

const PASSWORD: &str = "correct horse battery staple";
const WRONG: &str = "not the password at all";

fn from(ip: &str) -> [(&'static str, String); 1] {
    [("x-forwarded-for", ip.to_owned())]
}

fn login_from(app: &TestApp, email: &str, password: &str, ip: &str, cookie: Option<&str>) -> Answer {
    let [(name, value)] = from(ip);
    let mut headers = vec![(name, value.as_str())];
    let cookie = cookie.map(|c| format!("__Host-mfa_device={c}"));
    if let Some(cookie) = &cookie {
        headers.push(("cookie", cookie));
    }
    app.login(email, password, &headers)
}

fn retry_after(answer: &Answer) -> u64 {
    assert_eq!((answer.status, answer.error_code().as_str()), (429, "too_many_attempts"), "{answer:?}");
    answer.header("retry-after").unwrap().parse().unwrap()
}

/// The kinds and details of the user's events, newest first.
fn events(app: &TestApp, token: &str) -> Vec<serde_json::Value> {
    let answer = app.request("GET", "/v1/activity", &[("authorization", &format!("Bearer {token}"))], "");
    answer.json()["events"].as_array().unwrap().clone()
}

#[test]
fn failures_per_account_and_address_grow_a_delay_that_a_right_password_cannot_skip() {
    for backend in BACKENDS {
        let app = TestApp::migrated(backend, &[("password_limit_account_ip", "3/30/2/4")]);
        assert_eq!(app.register("ada@example.com", PASSWORD).status, 201);
        for _ in 0..3 {
            assert_eq!(app.login("ada@example.com", WRONG, &[]).status, 401, "{backend:?}");
        }
        // Throttled now, and the right password does not get through.
        let refused = app.login("ada@example.com", PASSWORD, &[]);
        assert!((1..=2).contains(&retry_after(&refused)), "{backend:?}: {refused:?}");
        // Unknown emails are counted the same way.
        for _ in 0..3 {
            assert_eq!(app.login("ghost@example.com", WRONG, &[]).status, 401, "{backend:?}");
        }
        assert!(retry_after(&app.login("ghost@example.com", PASSWORD, &[])) <= 2, "{backend:?}");
        // Once the delay has passed, the right password works and the count is forgotten.
        std::thread::sleep(Duration::from_millis(2_100));
        let admitted = app.login("ada@example.com", PASSWORD, &[]);
        assert_eq!(admitted.status, 201, "{backend:?}: {admitted:?}");
        let token = admitted.json()["token"].as_str().unwrap().to_owned();
        assert_eq!(app.login("ada@example.com", WRONG, &[]).status, 401, "{backend:?}: counting starts again");
        // The refusal is an event the user sees.
        let throttled: Vec<_> = events(&app, &token).into_iter().filter(|e| e["kind"] == "login_throttled").collect();
        assert_eq!(throttled.len(), 1, "{backend:?}: {throttled:?}");
        assert_eq!(throttled[0]["detail"]["limit"], "account_ip");
        // After a further failure beyond the free ones the delay doubles.
        for _ in 0..2 {
            assert_eq!(app.login("ada@example.com", WRONG, &[]).status, 401);
        }
        std::thread::sleep(Duration::from_millis(2_100));
        assert_eq!(app.login("ada@example.com", WRONG, &[]).status, 401, "{backend:?}");
        let doubled = retry_after(&app.login("ada@example.com", PASSWORD, &[]));
        assert!((3..=4).contains(&doubled), "{backend:?}: {doubled}");
    }
}

#[test]
fn failures_per_address_are_limited_across_accounts_and_a_forged_client_addr_changes_nothing() {
    for backend in BACKENDS {
        let app = TestApp::migrated(backend, &[("password_limit_ip", "3/3")]);
        assert_eq!(app.register("bob@example.com", PASSWORD).status, 201);
        for n in 0..3 {
            let email = format!("nobody{n}@example.com");
            assert_eq!(app.login(&email, WRONG, &[]).status, 401, "{backend:?}");
        }
        // A fourth account from the same address is refused, even with a forged spin-client-addr (the host's own
        // value comes last and wins) and an X-Forwarded-For the app does not trust by default.
        let forged = [("spin-client-addr", "198.51.100.77:1234"), ("x-forwarded-for", "198.51.100.78")];
        let refused = app.login("bob@example.com", PASSWORD, &forged);
        assert!(retry_after(&refused) <= 3, "{backend:?}");
        std::thread::sleep(Duration::from_millis(3_100));
        let admitted = app.login("bob@example.com", PASSWORD, &forged);
        assert_eq!(admitted.status, 201, "{backend:?}: {admitted:?}");
        assert_eq!(admitted.json()["ip"], "127.0.0.1", "{backend:?}: the forged values are not the client");
        let token = admitted.json()["token"].as_str().unwrap().to_owned();
        let throttled = events(&app, &token).into_iter().find(|e| e["kind"] == "login_throttled").unwrap();
        assert_eq!((throttled["detail"]["limit"].as_str(), throttled["ip"].as_str()), (Some("ip"), Some("127.0.0.1")));
    }
}

#[test]
fn failures_per_account_spare_a_device_that_logged_in_before() {
    for backend in BACKENDS {
        let app =
            TestApp::migrated(backend, &[("password_limit_account", "3/3"), ("trusted_proxies", "127.0.0.0/8, ::1")]);
        assert_eq!(app.register("cy@example.com", PASSWORD).status, 201);
        // The owner's browser logs in once: it gets a device cookie.
        let owner = login_from(&app, "cy@example.com", PASSWORD, "192.0.2.10", None);
        assert_eq!(owner.status, 201, "{backend:?}: {owner:?}");
        assert_eq!(owner.json()["ip"], "192.0.2.10", "{backend:?}: X-Forwarded-For from a trusted proxy");
        let (device, _) = owner.set_cookie("__Host-mfa_device").expect("a device cookie");
        // An attacker spreads guesses over addresses.
        for n in 1..=3 {
            let answer = login_from(&app, "cy@example.com", WRONG, &format!("203.0.113.{n}"), None);
            assert_eq!(answer.status, 401, "{backend:?}");
        }
        let refused = login_from(&app, "cy@example.com", PASSWORD, "203.0.113.4", None);
        assert!(retry_after(&refused) <= 3, "{backend:?}");
        // The owner's known device is not locked out; a made-up device cookie is no help.
        let known = login_from(&app, "cy@example.com", PASSWORD, "192.0.2.11", Some(&device));
        assert_eq!(known.status, 201, "{backend:?}: {known:?}");
        let made_up = "A".repeat(43);
        assert_eq!(login_from(&app, "cy@example.com", PASSWORD, "192.0.2.12", Some(&made_up)).status, 429);
        std::thread::sleep(Duration::from_millis(3_100));
        assert_eq!(login_from(&app, "cy@example.com", PASSWORD, "203.0.113.5", None).status, 201, "{backend:?}");
    }
}

#[test]
fn registrations_are_limited_per_address() {
    for backend in BACKENDS {
        let app = TestApp::migrated(backend, &[("registration_limit_ip", "2/3")]);
        assert_eq!(app.register("r1@example.com", PASSWORD).status, 201);
        assert_eq!(app.register("r2@example.com", PASSWORD).status, 201);
        let refused = app.register("r3@example.com", PASSWORD);
        assert!(retry_after(&refused) <= 3, "{backend:?}");
        std::thread::sleep(Duration::from_millis(3_100));
        assert_eq!(app.register("r3@example.com", PASSWORD).status, 201, "{backend:?}");
        // r3 exists now: it can log in.
        assert_eq!(app.login("r3@example.com", PASSWORD, &[]).status, 201, "{backend:?}");
    }
}

#[test]
fn parallel_failures_are_all_counted() {
    for backend in BACKENDS {
        let variables = [("password_limit_ip", "25/60"), ("password_limit_account_ip", "1000/60/1/1")];
        let app = std::sync::Arc::new(TestApp::migrated(backend, &variables));
        let calls: Vec<Call<u16>> = (0..AT_ONCE)
            .map(|n| {
                let app = app.clone();
                Box::new(move || app.login(&format!("guess{n}@example.com"), WRONG, &[]).status) as Call<u16>
            })
            .collect();
        let statuses = all_at_once(calls);
        assert!(statuses.iter().all(|s| *s == 401), "{backend:?}: {statuses:?}");
        // No count was lost to a parallel one: exactly 5 more fit the limit of 25.
        for n in 0..5 {
            assert_eq!(app.login(&format!("late{n}@example.com"), WRONG, &[]).status, 401, "{backend:?}");
        }
        let refused = app.login("late5@example.com", WRONG, &[]);
        assert!(retry_after(&refused) <= 60, "{backend:?}");
    }
}
