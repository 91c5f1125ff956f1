//! Login and the current session, on both backends.

use std::sync::Arc;

use super::app::{Answer, BACKENDS, redis_command};
use super::race::{AT_ONCE, Call, all_at_once};
use super::{Backend, TestApp};

const PASSWORD: &str = "correct horse battery staple";

fn register(app: &TestApp, email: &str) {
    let body = format!(r#"{{"email": "{email}", "password": "{PASSWORD}"}}"#);
    let answer = app.request("POST", "/v1/register", &[("content-type", "application/json")], &body);
    assert_eq!(answer.status, 201, "{answer:?}");
}

fn login(app: &TestApp, email: &str, password: &str) -> Answer {
    let body = format!(r#"{{"email": "{email}", "password": "{password}"}}"#);
    app.request("POST", "/v1/login", &[("content-type", "application/json"), ("user-agent", "e2e/1.0")], &body)
}

fn token(answer: &Answer) -> String {
    answer.json()["token"].as_str().unwrap_or_else(|| panic!("no token in {answer:?}")).to_owned()
}

fn with_token(app: &TestApp, method: &str, path: &str, token: &str) -> Answer {
    app.request(method, path, &[("authorization", &format!("Bearer {token}"))], "")
}

#[test]
fn login_current_session_and_logout() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend);
        register(&app, "ada@example.com");
        let created = login(&app, "ADA@example.com", PASSWORD);
        assert_eq!(created.status, 201, "{backend:?}: {created:?}");
        let body = created.json();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!((body["aal"].as_i64(), body["method"].as_str()), (Some(1), Some("password")));
        assert_eq!(body["user_agent"], "e2e/1.0");
        assert_eq!(body["ip"], "127.0.0.1");
        let token = token(&created);
        assert_eq!(token.len(), 43, "256 bits, URL-safe Base64");

        let current = with_token(&app, "GET", "/v1/session", &token);
        assert_eq!(current.status, 200, "{backend:?}: {current:?}");
        assert_eq!(current.json()["session"]["id"], body["id"]);

        // Wrong password and unknown email: one answer.
        let wrong = login(&app, "ada@example.com", "not the password at all");
        let unknown = login(&app, "nobody@example.com", PASSWORD);
        assert_eq!((wrong.status, wrong.error_code()), (401, "invalid_credentials".to_owned()), "{backend:?}");
        assert_eq!((unknown.status, unknown.body.as_str()), (wrong.status, wrong.body.as_str()), "{backend:?}");

        // Logout: the token stops working at once.
        assert_eq!(with_token(&app, "DELETE", "/v1/session", &token).status, 200, "{backend:?}");
        let after = with_token(&app, "GET", "/v1/session", &token);
        assert_eq!((after.status, after.error_code().as_str()), (401, "unauthenticated"), "{backend:?}");
        assert_eq!(app.get("/v1/session").status, 401);
        assert_eq!(with_token(&app, "GET", "/v1/session", "not-a-token").status, 401);
    }
}

#[test]
fn parallel_logins_never_exceed_the_cap_and_evicted_tokens_die() {
    for backend in BACKENDS {
        // Each login from its own address: a password attempt is counted before it is checked, so one address's
        // growing delay would refuse a user's own logins beyond five at once.
        let app = Arc::new(TestApp::migrated(backend, &[("trusted_proxies", "127.0.0.0/8, ::1")]));
        register(&app, "busy@example.com");
        let calls: Vec<Call> = (0..50)
            .map(|i| {
                let app = app.clone();
                let from = format!("203.0.113.{}", i + 1);
                Box::new(move || app.login("busy@example.com", PASSWORD, &[("x-forwarded-for", &from)])) as Call
            })
            .collect();
        let answers = all_at_once(calls);
        assert!(answers.iter().all(|a| a.status == 201), "{backend:?}: {:?}", answers.iter().find(|a| a.status != 201));
        let live: Vec<String> = answers
            .iter()
            .map(token)
            .filter(|token| with_token(&app, "GET", "/v1/session", token).status == 200)
            .collect();
        assert_eq!(live.len(), 5, "{backend:?}: exactly the cap stays live");
    }
}

#[test]
fn refuse_mode_turns_away_a_login_over_the_cap() {
    for backend in BACKENDS {
        let app = TestApp::spawn_with(backend, &[("session_max_per_user", "2"), ("session_limit_action", "refuse")]);
        assert_eq!(app.post_with_key("/v1/admin/migrate", "").status, 200);
        register(&app, "two@example.com");
        let first = token(&login(&app, "two@example.com", PASSWORD));
        let _second = token(&login(&app, "two@example.com", PASSWORD));
        let third = login(&app, "two@example.com", PASSWORD);
        assert_eq!((third.status, third.error_code().as_str()), (409, "session_limit_reached"), "{backend:?}");
        // Logging one out makes room.
        assert_eq!(with_token(&app, "DELETE", "/v1/session", &first).status, 200);
        assert_eq!(login(&app, "two@example.com", PASSWORD).status, 201, "{backend:?}");
    }
}

#[test]
fn redis_holds_no_raw_token() {
    let app = TestApp::spawn(Backend::RedisPostgres);
    register(&app, "keys@example.com");
    let token = token(&login(&app, "keys@example.com", PASSWORD));
    let url = super::app::redis_url();
    let prefix = app.redis_prefix().unwrap();
    let keys = redis_keys(&url, &prefix);
    assert!(keys.iter().any(|k| k.starts_with(&format!("{prefix}s2:"))), "{keys:?}");
    assert!(keys.iter().all(|k| !k.contains(&token)), "a Redis key holds the raw token");
    // Throttle counters are keyed by digests: no email or address in a key.
    assert_eq!(login(&app, "keys@example.com", "a wrong password").status, 401);
    let keys = redis_keys(&url, &prefix);
    assert!(keys.iter().any(|k| k.starts_with(&format!("{prefix}t:"))), "{keys:?}");
    assert!(keys.iter().all(|k| !k.contains("keys@") && !k.contains("127.0.0.1")), "{keys:?}");
    // Nor does a session's value (its fields packed as a JSON array).
    for key in keys.iter().filter(|k| k.starts_with(&format!("{prefix}s2:"))) {
        let value = redis_command(&url, &["GET", key]);
        assert!(value.starts_with('$') && value.contains("\r\n["), "{key}: {value}");
        assert!(!value.contains(&token), "{key} holds the raw token");
    }
}

/// The keys under `prefix`.
pub fn redis_keys(url: &str, prefix: &str) -> Vec<String> {
    let pattern = format!("{prefix}*");
    redis_command(url, &["KEYS", &pattern]).lines().filter(|l| l.starts_with(prefix)).map(str::to_owned).collect()
}

#[test]
fn sessions_are_listed_revoked_and_rotated() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend);
        register(&app, "many@example.com");
        register(&app, "other@example.com");
        let tokens: Vec<String> = (0..4).map(|_| token(&login(&app, "many@example.com", PASSWORD))).collect();
        let stranger = token(&login(&app, "other@example.com", PASSWORD));

        let listed = with_token(&app, "GET", "/v1/sessions", &tokens[0]).json();
        let sessions = listed["sessions"].as_array().unwrap().clone();
        assert_eq!(sessions.len(), 4, "{backend:?}: {listed}");
        let current: Vec<bool> = sessions.iter().map(|s| s["current"].as_bool().unwrap()).collect();
        assert_eq!(current.iter().filter(|c| **c).count(), 1, "{backend:?}");
        let id_of = |token: &str| with_token(&app, "GET", "/v1/session", token).json()["session"]["id"].clone();

        // Revoke one: that token dies, the others live; another user's session id is not found.
        let second = id_of(&tokens[1]);
        let revoked = with_token(&app, "DELETE", &format!("/v1/sessions/{}", second.as_str().unwrap()), &tokens[0]);
        assert_eq!(revoked.status, 200, "{backend:?}: {revoked:?}");
        assert_eq!(with_token(&app, "GET", "/v1/session", &tokens[1]).status, 401, "{backend:?}");
        let foreign = id_of(&stranger);
        let refused = with_token(&app, "DELETE", &format!("/v1/sessions/{}", foreign.as_str().unwrap()), &tokens[0]);
        assert_eq!((refused.status, refused.error_code().as_str()), (404, "session_not_found"), "{backend:?}");
        assert_eq!(with_token(&app, "GET", "/v1/session", &stranger).status, 200);

        // Rotate: same session, new token; the old token stops at once.
        let id = id_of(&tokens[0]);
        let rotated = with_token(&app, "POST", "/v1/session/refresh", &tokens[0]);
        assert_eq!(rotated.status, 200, "{backend:?}: {rotated:?}");
        let fresh = token(&rotated);
        assert_ne!(fresh, tokens[0]);
        assert_eq!(with_token(&app, "GET", "/v1/session", &tokens[0]).status, 401, "{backend:?}");
        assert_eq!(id_of(&fresh), id, "{backend:?}");

        // Revoke the others, then everything.
        let others = with_token(&app, "POST", "/v1/sessions/revoke-others", &fresh).json();
        assert_eq!(others["revoked"].as_array().unwrap().len(), 2, "{backend:?}: {others}");
        assert_eq!(with_token(&app, "GET", "/v1/session", &tokens[2]).status, 401);
        assert_eq!(with_token(&app, "GET", "/v1/session", &fresh).status, 200);
        let all = with_token(&app, "POST", "/v1/sessions/revoke-all", &fresh).json();
        assert_eq!(all["revoked"].as_array().unwrap().len(), 1, "{backend:?}: {all}");
        assert_eq!(with_token(&app, "GET", "/v1/session", &fresh).status, 401, "{backend:?}");
        // The other user was never touched.
        assert_eq!(with_token(&app, "GET", "/v1/session", &stranger).status, 200, "{backend:?}");
    }
}

#[test]
fn sessions_expire_when_idle_and_at_their_absolute_lifetime() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend);
        register(&app, "time@example.com");
        // Idle: unused for longer than the idle timeout (30 min), it ends.
        let idle = token(&login(&app, "time@example.com", PASSWORD));
        app.age_session(&idle, 31 * 60, 31 * 60);
        let ended = with_token(&app, "GET", "/v1/session", &idle);
        assert_eq!(ended.status, 401, "{backend:?}: {ended:?}");
        // Just inside the idle timeout it lives, and the use counts as activity.
        let used = token(&login(&app, "time@example.com", PASSWORD));
        app.age_session(&used, 29 * 60, 29 * 60);
        assert_eq!(with_token(&app, "GET", "/v1/session", &used).status, 200, "{backend:?}");
        app.age_session(&used, 29 * 60, 29 * 60);
        assert_eq!(with_token(&app, "GET", "/v1/session", &used).status, 200, "{backend:?}: kept alive by use");
        // Absolute: active a moment ago, but created over 24 h ago: it ends.
        let old = token(&login(&app, "time@example.com", PASSWORD));
        app.age_session(&old, 24 * 3600 + 1, 0);
        assert_eq!(with_token(&app, "GET", "/v1/session", &old).status, 401, "{backend:?}");
        // Both endings are events, with their reasons, and the sessions are gone from the list.
        let fresh = token(&login(&app, "time@example.com", PASSWORD));
        let events = with_token(&app, "GET", "/v1/activity", &fresh).json();
        let reasons: Vec<&str> = events["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "session_expired")
            .filter_map(|e| e["detail"]["reason"].as_str())
            .collect();
        assert_eq!(reasons, ["expired", "idle_expired"], "{backend:?}");
        let listed = with_token(&app, "GET", "/v1/sessions", &fresh).json();
        assert_eq!(listed["sessions"].as_array().unwrap().len(), 2, "{backend:?}: {listed}");
    }
}

#[test]
fn twenty_parallel_refreshes_of_one_token_rotate_it_once() {
    for backend in BACKENDS {
        let app = Arc::new(TestApp::spawn(backend));
        register(&app, "race@example.com");
        let token = token(&login(&app, "race@example.com", PASSWORD));
        let calls: Vec<Call> = (0..AT_ONCE)
            .map(|_| {
                let (app, token) = (app.clone(), token.clone());
                Box::new(move || with_token(&app, "POST", "/v1/session/refresh", &token)) as Call
            })
            .collect();
        let answers = all_at_once(calls);
        let rotated: Vec<&Answer> = answers.iter().filter(|a| a.status == 200).collect();
        assert_eq!(rotated.len(), 1, "{backend:?}: {:?}", answers.iter().map(|a| a.status).collect::<Vec<_>>());
        assert!(answers.iter().all(|a| a.status == 200 || a.status == 401), "{backend:?}");
        // The one new token works; the old one does not; the user has one session.
        let new = rotated[0].json()["token"].as_str().unwrap().to_owned();
        assert_eq!(with_token(&app, "GET", "/v1/session", &new).status, 200, "{backend:?}");
        assert_eq!(with_token(&app, "GET", "/v1/session", &token).status, 401, "{backend:?}");
        let listed = with_token(&app, "GET", "/v1/sessions", &new).json();
        assert_eq!(listed["sessions"].as_array().unwrap().len(), 1, "{backend:?}");
    }
}

#[test]
fn the_activity_is_read_page_by_page_newest_first() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend);
        assert_eq!(app.register("pages@example.com", PASSWORD).status, 201);
        let tokens: Vec<String> = (0..3)
            .map(|_| app.login("pages@example.com", PASSWORD, &[]).json()["token"].as_str().unwrap().to_owned())
            .collect();
        let bearer = format!("Bearer {}", tokens[2]);
        let page = |query: &str| app.request("GET", &format!("/v1/activity{query}"), &[("authorization", &bearer)], "");
        let everything = page("").json();
        let all: Vec<i64> =
            everything["events"].as_array().unwrap().iter().map(|e| e["id"].as_i64().unwrap()).collect();
        assert!(all.len() >= 7 && all.windows(2).all(|pair| pair[0] > pair[1]), "{backend:?}: {all:?}");
        assert_eq!(everything["next_before"], serde_json::Value::Null, "one page holds them all");
        let (mut seen, mut query) = (Vec::new(), "?limit=3".to_owned());
        loop {
            let answer = page(&query).json();
            seen.extend(answer["events"].as_array().unwrap().iter().map(|e| e["id"].as_i64().unwrap()));
            match answer["next_before"].as_i64() {
                Some(before) => query = format!("?limit=3&before={before}"),
                None => break,
            }
        }
        assert_eq!(seen, all, "{backend:?}: the pages hold every event once, in order");
        for bad in ["?limit=0", "?limit=101", "?before=0", "?before=x"] {
            assert_eq!(page(bad).error_code(), "invalid_field", "{backend:?} {bad}");
        }
    }
}
