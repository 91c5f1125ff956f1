//! Consent (GDPR article 7) to what second factors process: required to enroll, recorded with the text's version,
//! exported, and withdrawn (removing the factors of its kind), on both backends.

use serde_json::{Value, json};

use super::TestApp;
use super::app::{BACKENDS, Backend};
use super::totp::{
    bearer, confirm, consent_version, get, post, signed_in, start_enrollment, totp, unix_now, with_consent,
};
use super::twilio::FakeTwilio;

fn app_with_sms(backend: Backend, twilio: &FakeTwilio, more: &[(&str, &str)]) -> TestApp {
    let variables = twilio.variables();
    let mut all: Vec<(&str, &str)> = variables.iter().map(|(name, value)| (*name, value.as_str())).collect();
    all.extend_from_slice(more);
    TestApp::migrated(backend, &all)
}

/// The consent for `purpose` among `consents` (the test gives one of each).
fn of(consents: &[Value], purpose: &str) -> Value {
    consents.iter().find(|c| c["purpose"] == purpose).cloned().unwrap_or_else(|| panic!("no {purpose}: {consents:?}"))
}

fn kinds(activity: &Value) -> Vec<String> {
    activity["events"].as_array().unwrap().iter().filter_map(|e| e["kind"].as_str().map(str::to_owned)).collect()
}

#[test]
fn enrolling_needs_consent_to_the_text_in_force_which_is_recorded_exported_and_withdrawn() {
    for backend in BACKENDS {
        let twilio = FakeTwilio::start();
        let app = app_with_sms(backend, &twilio, &[]);
        let texts = app.get("/v1/consent-texts");
        assert_eq!(texts.status, 200, "{backend:?}: {texts:?}");
        let purposes: Vec<String> = texts.json()["texts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["purpose"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(purposes, ["totp", "sms", "webauthn"]);
        let (totp_version, sms_version) = (consent_version(&app, "totp"), consent_version(&app, "sms"));
        assert!(totp_version.starts_with("totp-") && sms_version.starts_with("sms-"), "{totp_version} {sms_version}");
        let token = signed_in(&app, "agree@example.com");

        // Without consent, or to another text: refused, nothing stored, nothing sent.
        let none = post(&app, &token, "/v1/mfa/totp", "");
        assert_eq!((none.status, none.error_code().as_str()), (400, "consent_required"), "{backend:?}: {none:?}");
        assert!(none.body.contains(&totp_version), "the message names the version to send: {}", none.body);
        let stale = post(&app, &token, "/v1/mfa/totp", r#"{"consent": "totp-000000000000"}"#);
        assert_eq!((stale.status, stale.error_code().as_str()), (400, "consent_outdated"), "{backend:?}");
        let wrong_kind = post(
            &app,
            &token,
            "/v1/mfa/sms",
            &json!({"phone": "+44 7700 900123", "consent": totp_version}).to_string(),
        );
        assert_eq!(wrong_kind.error_code(), "consent_outdated", "{backend:?}");
        assert_eq!(
            post(&app, &token, "/v1/mfa/sms", r#"{"phone": "+44 7700 900123"}"#).error_code(),
            "consent_required"
        );
        assert_eq!(twilio.requests(), 0, "{backend:?}");
        assert_eq!(get(&app, &token, "/v1/mfa/factors").json()["factors"], json!([]));
        assert_eq!(get(&app, &token, "/v1/consents").json()["consents"], json!([]));

        // With consent: an authenticator and a phone; each consent recorded once, with where it came from.
        let (id, secret) = start_enrollment(&app, &token, "");
        assert_eq!(confirm(&app, &token, &id, &totp(&secret, unix_now())).status, 200, "{backend:?}");
        let (again, _) = start_enrollment(&app, &token, r#"{"name": "Tablet"}"#);
        assert_ne!(again, id);
        let phone = post(&app, &token, "/v1/mfa/sms", &with_consent(&app, "sms", r#"{"phone": "+44 7700 900123"}"#));
        assert_eq!(phone.status, 201, "{backend:?}: {phone:?}");
        let code = twilio.messages().last().unwrap().code();
        let phone_id = phone.json()["id"].as_str().unwrap().to_owned();
        let confirmed =
            post(&app, &token, &format!("/v1/mfa/sms/{phone_id}/confirm"), &json!({"code": code}).to_string());
        assert_eq!(confirmed.status, 200, "{backend:?}: {confirmed:?}");
        let consents = get(&app, &token, "/v1/consents").json()["consents"].as_array().unwrap().clone();
        assert_eq!(consents.len(), 2, "{backend:?}: once per text: {consents:?}");
        let (totp_consent, sms_consent) = (of(&consents, "totp"), of(&consents, "sms"));
        assert_eq!(
            (totp_consent["version"].as_str(), totp_consent["ip"].as_str(), totp_consent["given_at"].is_i64()),
            (Some(totp_version.as_str()), Some("127.0.0.1"), true)
        );
        assert_eq!(
            (sms_consent["version"].as_str(), sms_consent["withdrawn_at"].clone()),
            (Some(sms_version.as_str()), Value::Null)
        );

        // The export holds them.
        let exported = get(&app, &token, "/v1/account/export").json();
        let mut exported: Vec<&str> =
            exported["consents"].as_array().unwrap().iter().filter_map(|c| c["version"].as_str()).collect();
        exported.sort_unstable();
        assert_eq!(exported, [sms_version.as_str(), totp_version.as_str()], "{backend:?}");

        // Withdrawing the SMS consent removes the phone (and only it), is an event, and needs a recent session.
        let withdraw = |token: &str, purpose: &str| {
            app.request("DELETE", &format!("/v1/consents/{purpose}"), &[("authorization", &bearer(token))], "")
        };
        assert_eq!(withdraw(&token, "email").status, 404);
        let withdrawn = withdraw(&token, "sms");
        assert_eq!(withdrawn.status, 200, "{backend:?}: {withdrawn:?}");
        assert_eq!(withdrawn.json()["factors_removed"], json!([phone_id]));
        let factors = get(&app, &token, "/v1/mfa/factors").json()["factors"].as_array().unwrap().clone();
        assert!(factors.iter().all(|f| f["kind"] == "totp"), "{backend:?}: {factors:?}");
        let consents = get(&app, &token, "/v1/consents").json()["consents"].as_array().unwrap().clone();
        assert!(of(&consents, "sms")["withdrawn_at"].is_i64(), "{backend:?}: {consents:?}");
        assert_eq!(of(&consents, "totp")["withdrawn_at"], Value::Null, "{backend:?}: {consents:?}");
        let activity = get(&app, &token, "/v1/activity").json();
        let seen = kinds(&activity);
        for kind in ["consent_withdrawn", "mfa_sms_removed", "consent_given"] {
            assert!(seen.contains(&kind.to_owned()), "{backend:?}: no {kind} in {seen:?}");
        }
        assert_eq!(withdraw(&token, "sms").status, 404, "{backend:?}: nothing left to withdraw");
        // A phone comes back only with consent given again, recorded anew.
        let without = post(&app, &token, "/v1/mfa/sms", r#"{"phone": "+44 7700 900123"}"#);
        assert_eq!(without.error_code(), "consent_required", "{backend:?}");
        let with = post(&app, &token, "/v1/mfa/sms", &with_consent(&app, "sms", r#"{"phone": "+44 7700 900123"}"#));
        assert_eq!(with.status, 201, "{backend:?}: {with:?}");
        assert_eq!(get(&app, &token, "/v1/consents").json()["consents"].as_array().map(Vec::len), Some(3));
        app.age_session(&token, 11 * 60, 0);
        let late = withdraw(&token, "totp");
        assert_eq!((late.status, late.error_code().as_str()), (403, "step_up_required"), "{backend:?}");
    }
}

#[test]
fn an_operators_own_consent_text_is_a_new_version_to_agree_to() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend);
        let built_in = consent_version(&app, "totp");
        let own =
            app.sibling(&[("consent_text_totp", "We keep your authenticator secret encrypted. Withdraw any time.")]);
        let texts = own.get("/v1/consent-texts").json();
        let text = texts["texts"].as_array().unwrap().iter().find(|t| t["purpose"] == "totp").unwrap().clone();
        assert_eq!(text["text"], "We keep your authenticator secret encrypted. Withdraw any time.");
        assert_ne!(text["version"].as_str(), Some(built_in.as_str()));
        let token = signed_in(&own, "own@example.com");
        let refused = post(&own, &token, "/v1/mfa/totp", &json!({"consent": built_in}).to_string());
        assert_eq!((refused.status, refused.error_code().as_str()), (400, "consent_outdated"), "{backend:?}");
        start_enrollment(&own, &token, "");
        let recorded = get(&own, &token, "/v1/consents").json()["consents"][0]["version"].clone();
        assert_eq!(recorded, text["version"], "{backend:?}");
    }
}
