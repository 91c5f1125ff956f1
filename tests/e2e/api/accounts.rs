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
