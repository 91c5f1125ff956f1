//! Registration, on both backends.

use super::TestApp;
use super::app::BACKENDS;

fn register(app: &TestApp, body: &str) -> super::app::Answer {
    app.request("POST", "/v1/register", &[("content-type", "application/json")], body)
}

#[test]
fn registration_checks_its_input_and_does_not_reveal_taken_emails() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend);
        let created =
            register(&app, r#"{"email": " New.User@Example.com", "password": "correct horse battery staple"}"#);
        assert_eq!(created.status, 201, "{backend:?}: {created:?}");
        // The same email again (in another case) answers exactly the same: no enumeration through registration.
        let again = register(&app, r#"{"email": "new.user@example.COM", "password": "another long passphrase"}"#);
        assert_eq!((again.status, again.body.as_str()), (created.status, created.body.as_str()), "{backend:?}");

        for (body, status, code) in [
            (r#"{"email": "a@example.com", "password": "short"}"#, 400, "password_too_short"),
            (
                r#"{"email": "bob.stone@example.com", "password": "Bob.Stone is my name!"}"#,
                400,
                "password_contains_email",
            ),
            (r#"{"email": "a@example.com", "password": "Passw0rd!"}"#, 400, "password_too_weak"),
            (r#"{"email": "no-at-sign", "password": "correct horse battery staple"}"#, 400, "invalid_email"),
            (r#"{"email": "a@example.com"}"#, 400, "invalid_field"),
            (r#"{"email": "a@example.com", "password": "x", "role": "admin"}"#, 400, "invalid_field"),
            ("{not json", 400, "bad_json"),
        ] {
            let answer = register(&app, body);
            assert_eq!((answer.status, answer.error_code().as_str()), (status, code), "{backend:?} {body}");
        }
        let long = format!(r#"{{"email": "a@example.com", "password": "{}"}}"#, "x".repeat(129));
        assert_eq!(register(&app, &long).error_code(), "password_too_long");
        let plain = app.request("POST", "/v1/register", &[("content-type", "text/plain")], "{}");
        assert_eq!((plain.status, plain.error_code().as_str()), (415, "unsupported_media_type"));
    }
}

#[test]
fn registration_can_be_switched_off() {
    let app = TestApp::spawn_with(super::Backend::Sqlite, &[("allow_registration", "false")]);
    let answer = register(&app, r#"{"email": "a@example.com", "password": "correct horse battery staple"}"#);
    assert_eq!((answer.status, answer.error_code().as_str()), (403, "registration_disabled"));
}

#[test]
fn changing_the_password_needs_the_current_one_and_ends_the_other_sessions() {
    const OLD: &str = "correct horse battery staple";
    const NEW: &str = "a brand new long passphrase";
    for backend in BACKENDS {
        let app = TestApp::spawn(backend);
        assert_eq!(app.register("pw@example.com", OLD).status, 201);
        let tokens: Vec<String> = (0..3)
            .map(|_| app.login("pw@example.com", OLD, &[]).json()["token"].as_str().unwrap().to_owned())
            .collect();
        let auth = format!("Bearer {}", tokens[0]);
        let change = |current: &str, new: &str| {
            let body = serde_json::json!({"current_password": current, "new_password": new}).to_string();
            app.post_json("/v1/password", &body, &[("authorization", &auth)])
        };
        let wrong = change("not the current one", NEW);
        assert_eq!((wrong.status, wrong.error_code().as_str()), (403, "current_password_wrong"), "{backend:?}");
        let short = change(OLD, "short");
        assert_eq!((short.status, short.error_code().as_str()), (400, "password_too_short"), "{backend:?}");
        assert_eq!(app.post_json("/v1/password", "{}", &[]).status, 401, "a session is needed");

        let changed = change(OLD, NEW);
        assert_eq!(changed.status, 200, "{backend:?}: {changed:?}");
        assert_eq!(changed.json()["revoked"].as_array().unwrap().len(), 2);
        let status = |token: &str| {
            app.request("GET", "/v1/session", &[("authorization", &format!("Bearer {token}"))], "").status
        };
        assert_eq!((status(&tokens[0]), status(&tokens[1]), status(&tokens[2])), (200, 401, 401), "{backend:?}");
        assert_eq!(app.login("pw@example.com", OLD, &[]).status, 401, "{backend:?}");
        assert_eq!(app.login("pw@example.com", NEW, &[]).status, 201, "{backend:?}");
        let events = app.request("GET", "/v1/activity", &[("authorization", &auth)], "").json();
        let kinds: Vec<&str> = events["events"].as_array().unwrap().iter().filter_map(|e| e["kind"].as_str()).collect();
        assert!(kinds.contains(&"password_changed") && kinds.contains(&"password_change_failed"), "{kinds:?}");
    }
}
