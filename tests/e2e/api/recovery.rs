//! The audited recovery of a user who lost their second factor, done by the product's support staff through the
//! service API, on both backends.

use serde_json::json;

use super::TestApp;
use super::app::BACKENDS;
use super::second_factors::with_backup_codes;
use super::totp::{PASSWORD, confirm, get, start_enrollment, totp, unix_now};

#[test]
fn support_removes_a_lost_second_factor_ends_every_session_and_the_user_sees_who_and_why() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend);
        let (secret, first, codes) = with_backup_codes(&app, "lost@example.com");
        let id = get(&app, &first, "/v1/session").json()["session"]["user_id"].as_str().unwrap().to_owned();
        let sign_in = format!("/v1/service/users/{id}/sessions");
        let recovery = format!("/v1/service/users/{id}/second-factor-recovery");

        // A second session from a browser the user trusted, and a third the trust let through.
        let challenged = app.with_key("POST", &sign_in, "{}").json();
        let device = challenged["device_id"].as_str().unwrap().to_owned();
        let verify = json!({"challenge_id": challenged["challenge_id"], "method": "totp",
                            "code": totp(&secret, unix_now() + 30), "remember_device": true});
        let second = app.post_json("/v1/login/verify", &verify.to_string(), &[]);
        assert_eq!(second.status, 201, "{backend:?}: {second:?}");
        let known = json!({"device_id": device}).to_string();
        let third = app.with_key("POST", &sign_in, &known);
        assert_eq!((third.status, third.json()["method"].as_str()), (201, Some("trusted_device")), "{third:?}");
        let tokens: Vec<String> = [first.clone(), second.json()["token"].as_str().unwrap().to_owned()]
            .into_iter()
            .chain([third.json()["token"].as_str().unwrap().to_owned()])
            .collect();

        // Refusals change nothing: no key, an unknown user, a missing or unusable operator or reason.
        let audit = r#"{"operator": " support-7 ", "reason": "lost phone; identity checked by video call"}"#;
        assert_eq!(app.request("POST", &recovery, &[("content-type", "application/json")], audit).status, 401);
        assert_eq!(app.with_key("POST", "/v1/service/users/nope/second-factor-recovery", audit).status, 404);
        for bad in [r#"{"operator": "support-7"}"#, r#"{"operator": " ", "reason": "lost"}"#, "[]"] {
            let refused = app.with_key("POST", &recovery, bad);
            assert_eq!((refused.status, refused.error_code().as_str()), (400, "invalid_field"), "{bad}: {refused:?}");
        }
        let long = json!({"operator": "support-7", "reason": "x".repeat(201)}).to_string();
        assert_eq!(app.with_key("POST", &recovery, &long).status, 400);
        assert_eq!(get(&app, &first, "/v1/mfa/factors").json()["factors"].as_array().map(Vec::len), Some(1));

        let recovered = app.with_key("POST", &recovery, audit);
        assert_eq!(recovered.status, 200, "{backend:?}: {recovered:?}");
        let recovered = recovered.json();
        assert_eq!(
            (recovered["factors_removed"].as_i64(), recovered["backup_codes_removed"].as_i64()),
            (Some(1), Some(i64::try_from(codes.len()).unwrap())),
            "{backend:?}: {recovered}"
        );
        assert_eq!(recovered["sessions_revoked"].as_array().map(Vec::len), Some(3), "{recovered}");
        for token in &tokens {
            assert_eq!(get(&app, token, "/v1/session").status, 401, "{backend:?}: every session ended");
        }
        let trusted = app.rows(&format!("SELECT CAST(COUNT(*) AS TEXT) FROM trusted_devices WHERE user_id = '{id}'"));
        assert_eq!(trusted[0][0].as_deref(), Some("0"), "{backend:?}");

        // The password alone signs in now, also from the browser that was trusted (as a plain aal 1 session).
        let after = app.login("lost@example.com", PASSWORD, &[]);
        assert_eq!((after.status, after.json()["aal"].as_i64()), (201, Some(1)), "{backend:?}: {after:?}");
        let again = app.with_key("POST", &sign_in, &known).json();
        assert_eq!(again["method"].as_str(), Some("external"), "{backend:?}: {again}");
        let token = after.json()["token"].as_str().unwrap().to_owned();
        let factors = get(&app, &token, "/v1/mfa/factors").json();
        assert_eq!((factors["factors"].clone(), factors["backup_codes"]["remaining"].as_i64()), (json!([]), Some(0)));

        // The user sees who did it and why.
        let activity = get(&app, &token, "/v1/activity").json();
        let event = activity["events"].as_array().unwrap().iter().find(|e| e["kind"] == "second_factor_recovered");
        let detail = event.map(|e| e["detail"].clone()).unwrap_or_default();
        assert_eq!(
            (detail["operator"].as_str(), detail["reason"].as_str(), detail["sessions_ended"].as_i64()),
            (Some("support-7"), Some("lost phone; identity checked by video call"), Some(3)),
            "{backend:?}: {activity}"
        );

        // Calling it again finds nothing more to remove; then a new authenticator enrolls as a first one.
        let twice = app.with_key("POST", &recovery, audit).json();
        assert_eq!((twice["factors_removed"].as_i64(), twice["backup_codes_removed"].as_i64()), (Some(0), Some(0)));
        let token = app.login("lost@example.com", PASSWORD, &[]).json()["token"].as_str().unwrap().to_owned();
        let (enrollment, new_secret) = start_enrollment(&app, &token, "");
        let confirmed = confirm(&app, &token, &enrollment, &totp(&new_secret, unix_now()));
        assert_eq!(confirmed.status, 200, "{backend:?}: {confirmed:?}");
        assert_eq!(confirmed.json()["backup_codes"].as_array().map(Vec::len), Some(codes.len()));
    }
}
