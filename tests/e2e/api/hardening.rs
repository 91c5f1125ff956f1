//! The defects a black-box probe found (issue 12), each shown closed end to end on both backends: a recent
//! authentication before any factor is added or a pending secret shown, parallel password guesses, wrong
//! confirmation codes, durable session records under parallel logins, erasure racing other requests, an invalid
//! policy at start, device cookie fixation, and a security event for every refusal. Races release their requests
//! together (a barrier) and count the exact outcomes.

use std::sync::Arc;

use serde_json::json;
use sha2::{Digest, Sha256};

use super::TestApp;
use super::app::{Answer, BACKENDS, Backend, redis_command, redis_url};
use super::race::{Call, all_at_once, count, statuses};
use super::second_factors::{with_backup_codes, wrong_code};
use super::totp::{
    PASSWORD, bearer, confirm, enrolled, get, post, signed_in, start_enrollment, totp, unix_now, with_consent,
};

fn user_id(app: &TestApp, token: &str) -> String {
    get(app, token, "/v1/session").json()["session"]["user_id"].as_str().unwrap().to_owned()
}

fn token_of(answer: &Answer) -> String {
    answer.json()["token"].as_str().unwrap_or_else(|| panic!("no token in {answer:?}")).to_owned()
}

/// The one number a `SELECT CAST(COUNT(*) AS TEXT) ...` answers.
fn number(app: &TestApp, sql: &str) -> u64 {
    app.rows(sql)[0][0].as_deref().unwrap().parse().unwrap()
}

/// The events of `kind`: each one's user and recorded client address.
fn events_of_kind(app: &TestApp, kind: &str) -> Vec<(Option<String>, Option<String>)> {
    app.rows(&format!(
        "SELECT e.user_id, p.ip FROM security_events e LEFT JOIN security_event_personal p ON p.event_id = e.id \
         WHERE e.kind = '{kind}' ORDER BY e.id"
    ))
    .into_iter()
    .map(|mut row| (row.remove(0), row.remove(0)))
    .collect()
}

fn step_up_with_password(app: &TestApp, token: &str) -> String {
    let body = json!({"method": "password", "password": PASSWORD}).to_string();
    let stepped = post(app, token, "/v1/session/step-up", &body);
    assert_eq!(stepped.status, 200, "{stepped:?}");
    token_of(&stepped)
}

#[test]
fn adding_a_first_factor_needs_a_recent_authentication() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend);
        let token = signed_in(&app, "stale@example.com");
        app.age_session(&token, 11 * 60, 0);
        for (path, kind, body) in
            [("/v1/mfa/totp", "totp", ""), ("/v1/mfa/sms", "sms", r#"{"phone": "+44 7700 900123"}"#)]
        {
            let refused = post(&app, &token, path, &with_consent(&app, kind, body));
            assert_eq!(
                (refused.status, refused.error_code().as_str()),
                (403, "step_up_required"),
                "{backend:?} {path}"
            );
        }
        // Without a factor the password is the step-up; then enrolling may start, and confirming needs it too.
        let fresh = step_up_with_password(&app, &token);
        let (id, secret) = start_enrollment(&app, &fresh, "");
        app.age_session(&fresh, 11 * 60, 0);
        let late = confirm(&app, &fresh, &id, &totp(&secret, unix_now()));
        assert_eq!((late.status, late.error_code().as_str()), (403, "step_up_required"), "{backend:?}");
        let factors = get(&app, &fresh, "/v1/mfa/factors").json();
        assert!(factors["factors"].as_array().unwrap().iter().all(|f| f["enabled"] == false), "{backend:?}: {factors}");
    }
}

#[test]
fn an_abandoned_enrollment_cannot_be_shown_or_confirmed_later() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend);
        let (first, token) = enrolled(&app, "abandon@example.com");
        let (id, secret) = start_enrollment(&app, &token, r#"{"name": "Second"}"#);
        app.age_session(&token, 11 * 60, 0);
        for path in [format!("/v1/mfa/totp/{id}/qr.svg"), format!("/v1/mfa/totp/{id}/qr.png")] {
            let shown = get(&app, &token, &path);
            assert_eq!((shown.status, shown.error_code().as_str()), (403, "step_up_required"), "{backend:?} {path}");
        }
        let confirmed = confirm(&app, &token, &id, &totp(&secret, unix_now()));
        assert_eq!((confirmed.status, confirmed.error_code().as_str()), (403, "step_up_required"), "{backend:?}");

        // Stepped up, but the enrollment is older than a step-up stays valid: it is dead.
        let body = json!({"method": "totp", "code": totp(&first, unix_now() + 30)}).to_string();
        let stepped = post(&app, &token, "/v1/session/step-up", &body);
        assert_eq!(stepped.status, 200, "{backend:?}: {stepped:?}");
        let fresh = token_of(&stepped);
        app.execute(&format!("UPDATE mfa_configurations SET created_at = created_at - 700 WHERE id = '{id}'"));
        let shown = get(&app, &fresh, &format!("/v1/mfa/totp/{id}/qr.svg"));
        assert_eq!((shown.status, shown.error_code().as_str()), (404, "enrollment_expired"), "{backend:?}");
        let confirmed = confirm(&app, &fresh, &id, &totp(&secret, unix_now()));
        assert_eq!((confirmed.status, confirmed.error_code().as_str()), (404, "enrollment_expired"), "{backend:?}");
    }
}

#[test]
fn parallel_wrong_passwords_over_two_instances_are_never_verified_beyond_the_limit() {
    for backend in BACKENDS {
        let app = Arc::new(TestApp::spawn(backend));
        assert_eq!(app.register("guessed@example.com", PASSWORD).status, 201);
        let sibling = Arc::new(app.sibling(&[]));
        let calls: Vec<Call> = (0..30)
            .map(|i| {
                let app = if i % 2 == 0 { app.clone() } else { sibling.clone() };
                Box::new(move || app.login("guessed@example.com", "a wrong guess of a password", &[])) as Call
            })
            .collect();
        let answers = all_at_once(calls);
        println!(
            "{backend:?}: 30 parallel wrong passwords: {} verified (401), {} refused (429)",
            count(&answers, 401),
            count(&answers, 429)
        );
        assert_eq!((count(&answers, 401), count(&answers, 429)), (5, 25), "{backend:?}: {:?}", statuses(&answers));
        assert_eq!(events_of_kind(&app, "login_failed").len(), 5, "{backend:?}: one event per verified guess");
        // The delay holds for the right password too.
        assert_eq!(app.login("guessed@example.com", PASSWORD, &[]).status, 429, "{backend:?}");
    }
}

#[test]
fn a_wrong_confirmation_code_changes_nothing() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend);
        // A first factor: no backup codes appear, and the service API finds no second factor to challenge.
        let token = signed_in(&app, "careful@example.com");
        let user = user_id(&app, &token);
        let (id, secret) = start_enrollment(&app, &token, "");
        let wrong = confirm(&app, &token, &id, wrong_code(&secret));
        assert_eq!((wrong.status, wrong.error_code().as_str()), (400, "invalid_code"), "{backend:?}");
        let codes = format!("SELECT CAST(COUNT(*) AS TEXT) FROM backup_codes WHERE user_id = '{user}'");
        assert_eq!(number(&app, &codes), 0, "{backend:?}");
        let challenge = app.post_with_key(&format!("/v1/service/users/{user}/challenge"), "");
        assert_eq!((challenge.status, challenge.error_code().as_str()), (409, "no_second_factor"), "{backend:?}");

        // An additional factor: a trusted device stays trusted.
        assert_eq!(confirm(&app, &token, &id, &totp(&secret, unix_now())).status, 200, "{backend:?}");
        let challenged = app.login("careful@example.com", PASSWORD, &[]);
        let (device, _) = challenged.set_cookie("__Host-mfa_device").expect("a device cookie");
        let cookie = format!("__Host-mfa_device={device}");
        let body = json!({"challenge_id": challenged.json()["challenge_id"], "method": "totp",
                          "code": totp(&secret, unix_now() + 30), "remember_device": true});
        let trusted = app.post_json("/v1/login/verify", &body.to_string(), &[("cookie", &cookie)]);
        assert_eq!(trusted.status, 201, "{backend:?}: {trusted:?}");
        let session = token_of(&trusted);
        let devices = |app: &TestApp| {
            get(app, &session, "/v1/trusted-devices").json()["trusted_devices"].as_array().unwrap().len()
        };
        assert_eq!(devices(&app), 1, "{backend:?}");
        let (second, second_secret) = start_enrollment(&app, &session, r#"{"name": "Spare"}"#);
        let wrong = confirm(&app, &session, &second, wrong_code(&second_secret));
        assert_eq!(wrong.status, 400, "{backend:?}");
        assert_eq!(devices(&app), 1, "{backend:?}: a wrong code voided the trusted device");
        assert_eq!(number(&app, &codes), 10, "{backend:?}: the backup codes are the first factor's");
    }
}

#[test]
fn after_fifty_parallel_logins_the_durable_records_match_the_live_sessions() {
    for backend in BACKENDS {
        let app = Arc::new(TestApp::migrated(backend, &[("trusted_proxies", "127.0.0.0/8, ::1")]));
        assert_eq!(app.register("busy@example.com", PASSWORD).status, 201);
        let sibling = Arc::new(app.sibling(&[]));
        // Each from its own address, so that the per-address password delay does not refuse a user's own logins.
        let calls: Vec<Call> = (0..50)
            .map(|i| {
                let app = if i % 2 == 0 { app.clone() } else { sibling.clone() };
                let from = format!("203.0.113.{}", i + 1);
                Box::new(move || app.login("busy@example.com", PASSWORD, &[("x-forwarded-for", &from)])) as Call
            })
            .collect();
        let answers = all_at_once(calls);
        assert_eq!(count(&answers, 201), 50, "{backend:?}: {:?}", statuses(&answers));
        let token = token_of(&app.login("busy@example.com", PASSWORD, &[("x-forwarded-for", "198.51.100.7")]));
        let listed = get(&app, &token, "/v1/sessions").json()["sessions"].as_array().unwrap().len();
        let open = number(&app, "SELECT CAST(COUNT(*) AS TEXT) FROM user_sessions WHERE ended_at IS NULL");
        let export = get(&app, &token, "/v1/account/export").json();
        let exported_open =
            export["sessions"].as_array().unwrap().iter().filter(|session| session["ended_at"].is_null()).count();
        assert_eq!((listed, open, exported_open), (5, 5, 5), "{backend:?}");
        if let Some(prefix) = app.redis_prefix() {
            let sessions = format!("{prefix}s2:");
            let live = app.redis_entries().iter().filter(|entry| entry.starts_with(&sessions)).count();
            assert_eq!(live, 5, "{backend:?}");
        }
    }
}

#[test]
fn erasure_racing_logins_and_code_checks_answers_cleanly_and_keeps_nothing() {
    for backend in BACKENDS {
        let app = Arc::new(TestApp::spawn(backend));
        for round in 0..3 {
            // A password-only account, whose logins admit sessions, and one with a second factor, whose
            // challenges are answered with backup codes; both erased while those requests run.
            let plain = format!("leaving{round}@example.com");
            let plain_token = signed_in(&app, &plain);
            let strong = format!("leaving-mfa{round}@example.com");
            let (_, strong_token, codes) = with_backup_codes(&app, &strong);
            let users = [user_id(&app, &plain_token), user_id(&app, &strong_token)];
            let challenges: Vec<String> = (0..6)
                .map(|_| app.login(&strong, PASSWORD, &[]).json()["challenge_id"].as_str().unwrap().to_owned())
                .collect();
            let mut calls: Vec<Call> = Vec::new();
            for _ in 0..12 {
                let (app, plain) = (app.clone(), plain.clone());
                calls.push(Box::new(move || app.login(&plain, PASSWORD, &[])));
            }
            for (challenge, code) in challenges.into_iter().zip(codes) {
                let app = app.clone();
                let body = json!({"challenge_id": challenge, "method": "backup_code", "code": code}).to_string();
                calls.push(Box::new(move || app.post_json("/v1/login/verify", &body, &[])));
            }
            for token in [plain_token, strong_token] {
                let app = app.clone();
                calls.push(Box::new(move || {
                    app.request("DELETE", "/v1/account", &[("authorization", &bearer(&token))], "")
                }));
            }
            let answers = all_at_once(calls);
            assert!(answers.iter().all(|a| a.status < 500), "{backend:?} round {round}: {:?}", statuses(&answers));
            assert!(answers.iter().rev().take(2).all(|a| a.status == 200), "{backend:?}: both erased");
            // Whatever a racing request was given is dead, and nothing personal of either account is left.
            for answer in answers.iter().filter(|a| a.status == 201) {
                let token = token_of(answer);
                let introspected = app.post_with_key("/v1/introspect", &json!({"token": token}).to_string());
                assert_eq!(
                    introspected.json()["active"],
                    false,
                    "{backend:?} round {round}: a session outlived erasure"
                );
            }
            let who = format!("'{}', '{}'", users[0], users[1]);
            let personal = number(
                &app,
                &format!(
                    "SELECT CAST(COUNT(*) AS TEXT) FROM security_event_personal p JOIN security_events e \
                     ON e.id = p.event_id WHERE e.user_id IN ({who}) AND (p.ip <> '' OR p.user_agent <> '')"
                ),
            );
            let sessions =
                number(&app, &format!("SELECT CAST(COUNT(*) AS TEXT) FROM user_sessions WHERE user_id IN ({who})"));
            assert_eq!((personal, sessions), (0, 0), "{backend:?} round {round}");
            let live =
                app.redis_entries().into_iter().filter(|entry| users.iter().any(|user| entry.contains(user.as_str())));
            assert_eq!(live.count(), 0, "{backend:?} round {round}");
        }
    }
}

#[test]
fn a_policy_that_would_break_every_login_stops_the_start_naming_its_variable() {
    for (variables, named) in [
        (&[("session_absolute_seconds", "900")][..], "session_idle_seconds"),
        (&[("session_absolute_seconds", "300"), ("session_idle_seconds", "60")][..], "session_absolute_seconds"),
    ] {
        let app = TestApp::spawn_with(Backend::Sqlite, variables);
        let migrate = app.post_with_key("/v1/admin/migrate", "");
        let ready = app.get("/readyz");
        for answer in [&migrate, &ready] {
            assert_eq!((answer.status, answer.error_code().as_str()), (503, "invalid_policy"), "{variables:?}");
            let message = answer.json()["error"]["message"].as_str().unwrap().to_owned();
            assert!(message.contains(named), "{variables:?}: {message}");
        }
    }
}

#[test]
fn a_device_cookie_chosen_by_someone_else_is_replaced_and_never_trusted() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend);
        // The attacker gets a well-formed device id of the server's from their own account...
        signed_in(&app, "attacker@example.com");
        let own = app.login("attacker@example.com", PASSWORD, &[]);
        let (planted, _) = own.set_cookie("__Host-mfa_device").expect("a device cookie");
        let planted_cookie = format!("__Host-mfa_device={planted}");
        // ...and plants it in the victim's browser, where the victim signs in and trusts the device.
        let (secret, _) = enrolled(&app, "victim@example.com");
        let challenged = app.login("victim@example.com", PASSWORD, &[("cookie", &planted_cookie)]);
        assert_eq!(challenged.status, 200, "{backend:?}");
        let (issued, _) = challenged.set_cookie("__Host-mfa_device").expect("a new device cookie, not the planted one");
        assert_ne!(issued, planted, "{backend:?}");
        let body = json!({"challenge_id": challenged.json()["challenge_id"], "method": "totp",
                          "code": totp(&secret, unix_now() + 30), "remember_device": true});
        let issued_cookie = format!("__Host-mfa_device={issued}");
        let trusted = app.post_json("/v1/login/verify", &body.to_string(), &[("cookie", &issued_cookie)]);
        assert_eq!(trusted.status, 201, "{backend:?}: {trusted:?}");
        // The victim's browser skips the second factor; the planted value does not.
        assert_eq!(app.login("victim@example.com", PASSWORD, &[("cookie", &issued_cookie)]).status, 201, "{backend:?}");
        let attacker = app.login("victim@example.com", PASSWORD, &[("cookie", &planted_cookie)]);
        assert_eq!((attacker.status, attacker.json()["mfa_required"].as_bool()), (200, Some(true)), "{backend:?}");
    }
}

#[test]
fn every_refusal_is_an_event_and_a_lost_event_is_counted() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend);
        let token = signed_in(&app, "watched@example.com");
        let user = user_id(&app, &token);
        let from_loopback = |events: Vec<(Option<String>, Option<String>)>, who: Option<&str>| {
            events.iter().any(|(user, ip)| user.as_deref() == who && ip.as_deref() == Some("127.0.0.1"))
        };

        // A bad service API key.
        let introspect = json!({"token": token}).to_string();
        let refused = app.post_json("/v1/introspect", &introspect, &[("authorization", "Bearer not-the-key")]);
        assert_eq!(refused.status, 401, "{backend:?}");
        assert!(from_loopback(events_of_kind(&app, "service_api_key_refused"), None), "{backend:?}");

        // A CSRF refusal, for the session's user.
        let cookie = format!("__Host-mfa_session={token}");
        let csrf = app.request("POST", "/v1/sessions/revoke-others", &[("cookie", &cookie)], "");
        assert_eq!((csrf.status, csrf.error_code().as_str()), (403, "csrf_token_invalid"), "{backend:?}");
        assert!(from_loopback(events_of_kind(&app, "csrf_refused"), Some(&user)), "{backend:?}");

        // A dead challenge: unknown, then used.
        let (secret, _) = enrolled(&app, "challenged@example.com");
        let unknown = json!({"challenge_id": "A".repeat(43), "method": "totp", "code": "123456"}).to_string();
        assert_eq!(app.post_json("/v1/login/verify", &unknown, &[]).status, 401, "{backend:?}");
        let challenge = app.login("challenged@example.com", PASSWORD, &[]).json()["challenge_id"].clone();
        let body =
            json!({"challenge_id": challenge, "method": "totp", "code": totp(&secret, unix_now() + 30)}).to_string();
        assert_eq!(app.post_json("/v1/login/verify", &body, &[]).status, 201, "{backend:?}");
        assert_eq!(app.post_json("/v1/login/verify", &body, &[]).status, 401, "{backend:?}");
        let reasons: Vec<String> = app
            .rows("SELECT detail FROM security_events WHERE kind = 'login_challenge_refused' ORDER BY id")
            .into_iter()
            .map(|row| row[0].clone().unwrap())
            .collect();
        assert_eq!(reasons.len(), 2, "{backend:?}: {reasons:?}");
        assert!(reasons[0].contains("unknown") && reasons[1].contains("used"), "{backend:?}: {reasons:?}");

        // A user created through the service API.
        let created = app.post_with_key("/v1/service/users", r#"{"external_id": "crm-7"}"#);
        let created_id = created.json()["user"]["id"].as_str().unwrap().to_owned();
        assert!(from_loopback(events_of_kind(&app, "user_created"), Some(&created_id)), "{backend:?}");

        // A session that ran out in the live store (Redis' TTL; past its lifetime on SQLite), noticed by a listing.
        let other = token_of(&app.login("watched@example.com", PASSWORD, &[]));
        match app.redis_prefix() {
            Some(prefix) => {
                // Redis' TTL is the absolute lifetime: when the key goes, the record's end has passed too.
                let key: String = Sha256::digest(other.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
                redis_command(&redis_url(), &["DEL", &format!("{prefix}s2:{key}")]);
                app.execute(&format!("UPDATE user_sessions SET expires_at = 1 WHERE token_hash = '{key}'"));
            }
            None => app.age_session(&other, 25 * 3600, 0),
        }
        assert_eq!(get(&app, &token, "/v1/sessions").json()["sessions"].as_array().unwrap().len(), 1, "{backend:?}");
        assert!(from_loopback(events_of_kind(&app, "session_expired"), Some(&user)), "{backend:?}");
        // An introspection that finds a session past its lifetime records its expiry too.
        let third = token_of(&app.login("watched@example.com", PASSWORD, &[]));
        app.age_session(&third, 25 * 3600, 0);
        let before = events_of_kind(&app, "session_expired").len();
        let introspected = app.post_with_key("/v1/introspect", &json!({"token": third}).to_string());
        assert_eq!(introspected.json()["active"], false, "{backend:?}");
        assert_eq!(events_of_kind(&app, "session_expired").len(), before + 1, "{backend:?}");

        // An event that cannot be written is logged and counted, and the request still answers.
        app.execute(match backend {
            Backend::Sqlite => {
                "CREATE TRIGGER refuse_event BEFORE INSERT ON security_events WHEN NEW.kind = 'login_failed' \
                 BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;"
            }
            Backend::RedisPostgres => {
                "CREATE FUNCTION refuse_event() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; \
                 END $$ LANGUAGE plpgsql; CREATE TRIGGER refuse_event BEFORE INSERT ON security_events FOR EACH ROW \
                 WHEN (NEW.kind = 'login_failed') EXECUTE FUNCTION refuse_event();"
            }
        });
        assert_eq!(app.login("watched@example.com", "not the password", &[]).status, 401, "{backend:?}");
        assert!(events_of_kind(&app, "login_failed").is_empty(), "{backend:?}");
        let metrics =
            app.request("GET", "/v1/admin/metrics", &[("authorization", &format!("Bearer {}", app.api_key))], "");
        assert_eq!(metrics.status, 200, "{backend:?}: {metrics:?}");
        assert!(
            metrics.body.contains("mfa_event_write_failures_total{kind=\"login_failed\"} 1\n"),
            "{backend:?}: {}",
            metrics.body
        );
        // Events written are counted by kind, in the transaction that writes them: the refused one is not.
        let expired = format!("mfa_security_events_total{{kind=\"session_expired\"}} {before}\n", before = before + 1);
        assert!(metrics.body.contains(&expired), "{backend:?}: {}", metrics.body);
        assert!(!metrics.body.contains("mfa_security_events_total{kind=\"login_failed\"}"), "{backend:?}");
        assert_eq!(metrics.body.matches("# TYPE mfa_security_events_total counter\n").count(), 1, "{backend:?}");
    }
}
