//! Passkeys (WebAuthn) end to end, on both backends, with the software authenticator of mfa-core's unit tests
//! (ES256, EdDSA and RS256 keys; every part of a ceremony can be made wrong on purpose): registration with
//! step-up and consent, sign-in as the second factor of a login challenge and alone (passwordless), step-up with
//! a passkey, removal ending the sessions made with it, and every refusal: wrong origin, wrong RP ID, replayed
//! and expired challenges, a bad signature, a counter that went back, user verification missing when required,
//! another user's passkey, and twenty sign-ins racing with one answer.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mfa_core::webauthn::soft_authenticator::{Algorithm, Authenticator, Ceremony};
use serde_json::{Value, json};

use super::TestApp;
use super::app::{Answer, BACKENDS};
use super::race::{AT_ONCE, Call, all_at_once, count, statuses};
use super::totp::{PASSWORD, get, post, signed_in, with_consent};

/// The page the ceremonies run on: any port of `http://localhost` is allowed by default.
const ORIGIN: &str = "http://localhost:3000";

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// An authenticator with a credential id of its own (`seed` tells authenticators in one test apart).
pub(super) fn authenticator(algorithm: Algorithm, seed: u8) -> Authenticator {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let mut id = nanos.to_be_bytes().to_vec();
    id.extend_from_slice(&[seed; 16]);
    Authenticator::with_credential_id(algorithm, id)
}

/// A ceremony answering `options` (`publicKey`) from the allowed origin, right in every part.
pub(super) fn ceremony(options: &Value) -> Ceremony {
    Ceremony::new("localhost", ORIGIN, options["challenge"].as_str().unwrap())
}

/// A registration answer as `PublicKeyCredential.toJSON()` gives it.
pub(super) fn registration(authenticator: &Authenticator, ceremony: &Ceremony) -> Value {
    let made = authenticator.register(ceremony);
    let id = b64(&authenticator.credential_id());
    json!({"id": id, "rawId": id, "type": "public-key", "response": {
        "clientDataJSON": b64(&made.client_data_json),
        "attestationObject": b64(&made.attestation_object),
        "transports": ["internal", "hybrid"],
    }})
}

/// An assertion answer, with the user handle of `user_handle` (what a discoverable passkey gives).
pub(super) fn assertion(authenticator: &Authenticator, ceremony: &Ceremony, user_handle: Option<&str>) -> Value {
    let signed = authenticator.assert(ceremony);
    let id = b64(&authenticator.credential_id());
    json!({"id": id, "rawId": id, "type": "public-key", "response": {
        "clientDataJSON": b64(&signed.client_data_json),
        "authenticatorData": b64(&signed.authenticator_data),
        "signature": b64(&signed.signature),
        "userHandle": user_handle,
    }})
}

/// The registration options for the signed-in user (`token`), consenting to the passkey text.
fn registration_options(app: &TestApp, token: &str) -> Value {
    let options = post(app, token, "/v1/mfa/webauthn/options", &with_consent(app, "webauthn", r#"{"name":"Laptop"}"#));
    assert_eq!(options.status, 200, "{options:?}");
    options.json()["publicKey"].clone()
}

/// Registers `authenticator`'s passkey for the signed-in user: the answer, and the user handle it was given.
fn add_passkey(app: &TestApp, token: &str, authenticator: &Authenticator) -> (Answer, String) {
    let options = registration_options(app, token);
    let credential = registration(authenticator, &ceremony(&options));
    let added = post(app, token, "/v1/mfa/webauthn", &json!({"credential": credential}).to_string());
    (added, options["user"]["id"].as_str().unwrap().to_owned())
}

/// Passwordless: options, then `answer(options)` posted. The answer.
fn passwordless(app: &TestApp, answer: impl FnOnce(&Value) -> Value) -> Answer {
    let options = app.post_json("/v1/login/passkey/options", "", &[]);
    assert_eq!(options.status, 200, "{options:?}");
    let credential = answer(&options.json()["publicKey"]);
    app.post_json("/v1/login/passkey", &json!({"credential": credential}).to_string(), &[])
}

/// The reason a passkey answer was refused, checking the status and code.
fn refusal(answer: &Answer, status: u16) -> String {
    assert_eq!((answer.status, answer.error_code().as_str()), (status, "passkey_refused"), "{answer:?}");
    answer.json()["error"]["reason"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn a_passkey_registers_and_signs_in_as_the_second_factor_and_alone() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend);
        let token = signed_in(&app, "pk@example.com");
        let options = registration_options(&app, &token);
        assert_eq!((options["rp"]["id"].as_str(), options["attestation"].as_str()), (Some("localhost"), Some("none")));
        let handle = options["user"]["id"].as_str().unwrap().to_owned();
        assert_eq!(URL_SAFE_NO_PAD.decode(&handle).unwrap().len(), 32, "an opaque handle, not the email");
        assert!(!handle.contains("pk") && options["user"]["name"] == "pk@example.com");
        assert!(URL_SAFE_NO_PAD.decode(options["challenge"].as_str().unwrap()).unwrap().len() >= 16);
        let key = authenticator(Algorithm::Es256, 1);
        let credential = registration(&key, &ceremony(&options));
        let added = post(&app, &token, "/v1/mfa/webauthn", &json!({"credential": credential}).to_string());
        assert_eq!(added.status, 201, "{backend:?}: {added:?}");
        assert_eq!(added.json()["backup_codes"].as_array().map(Vec::len), Some(10), "the first factor");
        let factors = get(&app, &token, "/v1/mfa/factors").json();
        let passkey = factors["factors"].as_array().unwrap().iter().find(|f| f["kind"] == "webauthn").cloned().unwrap();
        assert_eq!(
            (passkey["name"].as_str(), passkey["transports"].clone()),
            (Some("Laptop"), json!(["internal", "hybrid"]))
        );
        // The same passkey cannot be added twice.
        let again = registration(&key, &ceremony(&registration_options(&app, &token)));
        let twice = post(&app, &token, "/v1/mfa/webauthn", &json!({"credential": again}).to_string());
        assert_eq!((twice.status, twice.error_code().as_str()), (409, "passkey_already_registered"));

        // The second factor of a login challenge.
        let challenge = app.login("pk@example.com", PASSWORD, &[]).json();
        assert_eq!(challenge["methods"], json!(["webauthn", "backup_code"]), "{backend:?}");
        let id = challenge["challenge_id"].as_str().unwrap();
        let login_options = app.post_json("/v1/login/webauthn/options", &json!({"challenge_id": id}).to_string(), &[]);
        assert_eq!(login_options.status, 200, "{login_options:?}");
        let login_options = login_options.json()["publicKey"].clone();
        assert_eq!(login_options["allowCredentials"][0]["id"], credential["id"]);
        let answer = assertion(&key, &ceremony(&login_options), None);
        let body = json!({"challenge_id": id, "method": "webauthn", "credential": answer}).to_string();
        let session = app.post_json("/v1/login/verify", &body, &[]);
        assert_eq!(session.status, 201, "{backend:?}: {session:?}");
        assert_eq!((session.json()["aal"].as_i64(), session.json()["method"].as_str()), (Some(2), Some("webauthn")));

        // Alone: any discoverable passkey of the site, naming its user by the handle.
        let signed_in = passwordless(&app, |options| {
            assert_eq!(options["userVerification"], "required");
            assertion(&key, &ceremony(options), Some(&handle))
        });
        assert_eq!(signed_in.status, 201, "{backend:?}: {signed_in:?}");
        let body = signed_in.json();
        assert_eq!((body["aal"].as_i64(), body["method"].as_str()), (Some(2), Some("passkey")));
        let current = get(&app, body["token"].as_str().unwrap(), "/v1/session").json();
        let owner = get(&app, &token, "/v1/session").json()["session"]["user_id"].clone();
        assert!(owner.is_string() && current["session"]["user_id"] == owner, "{current}");

        // A provider that syncs the passkey after registering it turns its backup eligibility on: it still signs in,
        // and the change is an event.
        let synced = passwordless(&app, |options| {
            let mut made = ceremony(options);
            made.backup_eligible = true;
            assertion(&key, &made, Some(&handle))
        });
        assert_eq!(synced.status, 201, "{backend:?}: {synced:?}");
        let factors = get(&app, &token, "/v1/mfa/factors").json();
        assert!(factors["factors"].as_array().unwrap().iter().any(|f| f["kind"] == "webauthn" && f["synced"] == true));
        // The user's export names the passkey, never its key.
        let export = get(&app, &token, "/v1/account/export");
        assert_eq!(export.status, 200, "{export:?}");
        let passkeys = export.json()["passkeys"].clone();
        assert_eq!(
            (passkeys[0]["name"].as_str(), passkeys[0]["transports"].as_str()),
            (Some("Laptop"), Some("internal,hybrid"))
        );
        assert!(
            passkeys[0].get("public_key").is_none() && !export.body.contains(&credential["id"].as_str().unwrap()[..20])
        );

        // Step-up with the passkey.
        let step_options = post(&app, &token, "/v1/session/step-up/webauthn/options", "").json()["publicKey"].clone();
        let answer = assertion(&key, &ceremony(&step_options), None);
        let stepped =
            post(&app, &token, "/v1/session/step-up", &json!({"method": "webauthn", "credential": answer}).to_string());
        assert_eq!((stepped.status, stepped.json()["aal"].as_i64()), (200, Some(2)), "{backend:?}: {stepped:?}");
    }
}

#[test]
fn every_algorithm_signs_in_and_a_removed_passkey_ends_its_sessions() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend);
        let token = signed_in(&app, "algs@example.com");
        for (seed, algorithm) in [(1, Algorithm::Es256), (2, Algorithm::EdDsa), (3, Algorithm::Rs256)] {
            let key = authenticator(algorithm, seed);
            let (added, handle) = add_passkey(&app, &token, &key);
            assert_eq!(added.status, 201, "{backend:?} {algorithm:?}: {added:?}");
            let signed_in = passwordless(&app, |options| assertion(&key, &ceremony(options), Some(&handle)));
            assert_eq!(signed_in.status, 201, "{backend:?} {algorithm:?}: {signed_in:?}");
            if algorithm == Algorithm::EdDsa {
                // Removing this passkey ends the session made with it, not the others.
                let made_with = signed_in.json()["token"].as_str().unwrap().to_owned();
                let id = added.json()["id"].as_str().unwrap().to_owned();
                let removed = app.request(
                    "DELETE",
                    &format!("/v1/mfa/webauthn/{id}"),
                    &[("authorization", &format!("Bearer {token}"))],
                    "",
                );
                assert_eq!(removed.status, 200, "{removed:?}");
                assert_eq!(get(&app, &made_with, "/v1/session").status, 401, "{backend:?}");
                assert_eq!(get(&app, &token, "/v1/session").status, 200);
                let gone = passwordless(&app, |options| assertion(&key, &ceremony(options), Some(&handle)));
                assert_eq!(refusal(&gone, 401), "unknown_credential");
            }
        }
        let factors = get(&app, &token, "/v1/mfa/factors").json();
        assert_eq!(factors["factors"].as_array().unwrap().len(), 2, "{factors}");
    }
}

#[test]
fn every_wrong_part_of_a_ceremony_is_refused() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend);
        let token = signed_in(&app, "wrong@example.com");
        let key = authenticator(Algorithm::Es256, 1);

        // Registration: another origin, another RP ID, a replayed challenge.
        let options = registration_options(&app, &token);
        let mut wrong_origin = ceremony(&options);
        wrong_origin.origin = "http://evil.example:3000".into();
        let credential = registration(&key, &wrong_origin);
        let refused = post(&app, &token, "/v1/mfa/webauthn", &json!({"credential": credential}).to_string());
        assert_eq!(refusal(&refused, 403), "origin_not_allowed", "{backend:?}");
        // The challenge was spent by the refused answer: a right answer to it is refused too.
        let replay = registration(&key, &ceremony(&options));
        let refused = post(&app, &token, "/v1/mfa/webauthn", &json!({"credential": replay}).to_string());
        assert_eq!(refusal(&refused, 403), "challenge_invalid", "{backend:?}");
        let options = registration_options(&app, &token);
        let mut other_rp = ceremony(&options);
        other_rp.rp_id = "evil.example".into();
        let refused =
            post(&app, &token, "/v1/mfa/webauthn", &json!({"credential": registration(&key, &other_rp)}).to_string());
        assert_eq!(refusal(&refused, 403), "rp_id_mismatch", "{backend:?}");
        let (added, handle) = add_passkey(&app, &token, &key);
        assert_eq!(added.status, 201, "{added:?}");

        // Passwordless sign-in: each wrong part.
        let wrong = |change: &dyn Fn(&mut Ceremony)| {
            passwordless(&app, |options| {
                let mut made = ceremony(options);
                change(&mut made);
                assertion(&key, &made, Some(&handle))
            })
        };
        assert_eq!(refusal(&wrong(&|c| c.origin = "https://localhost.evil.example".into()), 401), "origin_not_allowed");
        assert_eq!(refusal(&wrong(&|c| c.rp_id = "example.com".into()), 401), "rp_id_mismatch");
        assert_eq!(refusal(&wrong(&|c| c.corrupt_signature = true), 401), "bad_signature");
        assert_eq!(refusal(&wrong(&|c| c.user_verified = false), 401), "user_not_verified");
        assert_eq!(refusal(&wrong(&|c| c.challenge = b64(&[7; 32])), 401), "challenge_invalid");
        assert_eq!(refusal(&wrong(&|c| c.sign_count = Some(1)), 401), "counter_regressed");
        // An answer whose id is not its rawId.
        let mismatched = passwordless(&app, |options| {
            let mut answer = assertion(&key, &ceremony(options), Some(&handle));
            answer["id"] = json!(b64(&[9; 32]));
            answer
        });
        assert_eq!(refusal(&mismatched, 401), "credential_id_mismatch");
        // Another user's handle for this passkey.
        let stranger = passwordless(&app, |options| assertion(&key, &ceremony(options), Some(&b64(&[1; 32]))));
        assert_eq!(refusal(&stranger, 401), "unknown_credential");
        // An expired challenge.
        let options = app.post_json("/v1/login/passkey/options", "", &[]).json()["publicKey"].clone();
        app.execute("UPDATE webauthn_challenges SET expires_at = 0");
        let late = assertion(&key, &ceremony(&options), Some(&handle));
        let refused = app.post_json("/v1/login/passkey", &json!({"credential": late}).to_string(), &[]);
        assert_eq!(refusal(&refused, 401), "challenge_invalid", "{backend:?}");
        // A replayed answer: the first use signs in, the second finds its challenge spent.
        let options = app.post_json("/v1/login/passkey/options", "", &[]).json()["publicKey"].clone();
        let answer = json!({"credential": assertion(&key, &ceremony(&options), Some(&handle))}).to_string();
        assert_eq!(app.post_json("/v1/login/passkey", &answer, &[]).status, 201);
        assert_eq!(refusal(&app.post_json("/v1/login/passkey", &answer, &[]), 401), "challenge_invalid");
        // While the user's second-factor checks are disabled, the passkey alone does not sign in either.
        let user_id = get(&app, &token, "/v1/session").json()["session"]["user_id"].as_str().unwrap().to_owned();
        app.execute(&format!(
            "INSERT INTO second_factor_states (user_id, window_failures, window_start, consecutive_failures, \
             lockouts, locked_until, disabled_at, version) VALUES ('{user_id}', 0, 0, 100, 0, 0, 1, 1)"
        ));
        let disabled = passwordless(&app, |options| assertion(&key, &ceremony(options), Some(&handle)));
        assert_eq!((disabled.status, disabled.error_code().as_str()), (403, "second_factor_disabled"), "{backend:?}");
        app.execute("DELETE FROM second_factor_states");
        // Garbage is a clear 400, not a crash.
        let garbage = app.post_json("/v1/login/passkey", r#"{"credential":{"id":"x"}}"#, &[]);
        assert_eq!(garbage.status, 400, "{garbage:?}");

        // As the second factor, a bad signature is a failed second factor (counted, and an event).
        let challenge = app.login("wrong@example.com", PASSWORD, &[]).json();
        let id = challenge["challenge_id"].as_str().unwrap();
        let options = app.post_json("/v1/login/webauthn/options", &json!({"challenge_id": id}).to_string(), &[]).json();
        let mut forged = ceremony(&options["publicKey"]);
        forged.corrupt_signature = true;
        let body = json!({"challenge_id": id, "method": "webauthn", "credential": assertion(&key, &forged, None)});
        let refused = app.post_json("/v1/login/verify", &body.to_string(), &[]);
        assert_eq!((refused.status, refused.error_code().as_str()), (401, "passkey_refused"), "{refused:?}");
        assert_eq!(refused.json()["error"]["checks_left"], 4);
        let events = get(&app, &token, "/v1/activity").json();
        let failed: Vec<&Value> =
            events["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "second_factor_failed").collect();
        assert_eq!(failed[0]["detail"]["reason"], "bad_signature", "{events}");
        let kinds: Vec<&str> = events["events"].as_array().unwrap().iter().filter_map(|e| e["kind"].as_str()).collect();
        assert!(kinds.contains(&"passkey_counter_regressed") && kinds.contains(&"mfa_passkey_registration_failed"));
    }
}

#[test]
fn user_verification_can_be_required_of_the_second_factor_and_a_regression_allowed() {
    let app = TestApp::migrated(
        super::Backend::Sqlite,
        &[
            ("webauthn_user_verification", "required"),
            ("webauthn_counter_regression", "allow"),
            ("password_limit_ip", "1/3600"),
        ],
    );
    let token = signed_in(&app, "uv@example.com");
    let key = authenticator(Algorithm::Es256, 1);
    let options = registration_options(&app, &token);
    assert_eq!(options["authenticatorSelection"]["userVerification"], "required");
    let mut unverified = ceremony(&options);
    unverified.user_verified = false;
    let refused =
        post(&app, &token, "/v1/mfa/webauthn", &json!({"credential": registration(&key, &unverified)}).to_string());
    assert_eq!(refusal(&refused, 403), "user_not_verified");
    let (added, handle) = add_passkey(&app, &token, &key);
    assert_eq!(added.status, 201, "{added:?}");
    let id = app.login("uv@example.com", PASSWORD, &[]).json()["challenge_id"].as_str().unwrap().to_owned();
    let options = app.post_json("/v1/login/webauthn/options", &json!({"challenge_id": id}).to_string(), &[]).json();
    let mut unverified = ceremony(&options["publicKey"]);
    unverified.user_verified = false;
    let body = json!({"challenge_id": id, "method": "webauthn", "credential": assertion(&key, &unverified, None)});
    let refused = app.post_json("/v1/login/verify", &body.to_string(), &[]);
    assert_eq!((refused.status, refused.error_code().as_str()), (401, "passkey_refused"));
    // With `allow`, a counter that went back signs in (and is still an event).
    let copy = passwordless(&app, |options| {
        let mut made = ceremony(options);
        made.sign_count = Some(1);
        assertion(&key, &made, Some(&handle))
    });
    assert_eq!(copy.status, 201, "{copy:?}");
    let events = get(&app, &token, "/v1/activity").json();
    assert!(events["events"].as_array().unwrap().iter().any(|e| e["kind"] == "passkey_counter_regressed"));
    // Passwordless sign-ins are limited per address as password failures are (here one an hour).
    let limited = app.post_json("/v1/login/passkey/options", "", &[]);
    assert_eq!((limited.status, limited.error_code().as_str()), (429, "too_many_attempts"), "{limited:?}");
    assert!(limited.header("retry-after").is_some());
}

#[test]
fn twenty_sign_ins_with_one_answer_make_one_session() {
    for backend in BACKENDS {
        let app = Arc::new(TestApp::spawn(backend));
        let token = signed_in(&app, "race@example.com");
        let key = authenticator(Algorithm::Es256, 1);
        let (added, handle) = add_passkey(&app, &token, &key);
        assert_eq!(added.status, 201, "{added:?}");
        let options = app.post_json("/v1/login/passkey/options", "", &[]).json()["publicKey"].clone();
        let answer = json!({"credential": assertion(&key, &ceremony(&options), Some(&handle))}).to_string();
        let calls: Vec<Call> = (0..AT_ONCE)
            .map(|_| {
                let (app, answer) = (app.clone(), answer.clone());
                Box::new(move || app.post_json("/v1/login/passkey", &answer, &[])) as Call
            })
            .collect();
        let answers = all_at_once(calls);
        assert_eq!(count(&answers, 201), 1, "{backend:?}: {:?}", statuses(&answers));
        assert_eq!(count(&answers, 401), AT_ONCE - 1, "{backend:?}: {:?}", statuses(&answers));
    }
}
