//! TOTP authenticators end to end, on both backends: enrollment (secret, otpauth URI, QR codes that decode back to
//! it), confirmation with codes computed here by an independent RFC 6238 implementation, replay refusal (also for
//! two parallel submissions, to one instance or to two), step-up for changes, key rotation, and no secret in the
//! clear in the database.

use std::sync::Arc;

use base64::Engine as _;
use hmac::{KeyInit, Mac};

use super::TestApp;
use super::app::{Answer, BACKENDS};
use super::race::{AT_ONCE, Call, all_at_once, count, statuses};

pub(super) const PASSWORD: &str = "correct horse battery staple";

/// RFC 6238 with HMAC-SHA-1, 6 digits, 30-second steps, written here from the RFC (not the component's code).
pub(super) fn totp(secret: &[u8], unix: u64) -> String {
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(secret).unwrap();
    mac.update(&(unix / 30).to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let binary =
        u32::from_be_bytes([digest[offset] & 0x7f, digest[offset + 1], digest[offset + 2], digest[offset + 3]]);
    format!("{:06}", binary % 1_000_000)
}

pub(super) fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// The secret in an otpauth URI's `secret` parameter.
pub(super) fn secret_of(uri: &str) -> Vec<u8> {
    let query = uri.split_once('?').unwrap().1;
    let encoded = query.split('&').find_map(|pair| pair.strip_prefix("secret=")).unwrap();
    data_encoding::BASE32_NOPAD.decode(encoded.trim_end_matches('=').as_bytes()).unwrap()
}

pub(super) fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

pub(super) fn signed_in(app: &TestApp, email: &str) -> String {
    assert_eq!(app.register(email, PASSWORD).status, 201);
    app.login(email, PASSWORD, &[]).json()["token"].as_str().unwrap().to_owned()
}

pub(super) fn post(app: &TestApp, token: &str, path: &str, body: &str) -> Answer {
    app.post_json(path, body, &[("authorization", &bearer(token))])
}

pub(super) fn get(app: &TestApp, token: &str, path: &str) -> Answer {
    app.request("GET", path, &[("authorization", &bearer(token))], "")
}

/// Password login, then the challenge answered with `code`: the new session's token.
pub(super) fn login_with_code(app: &TestApp, email: &str, code: &str) -> String {
    let challenge = app.login(email, PASSWORD, &[]);
    assert_eq!(challenge.status, 200, "{challenge:?}");
    let id = challenge.json()["challenge_id"].as_str().unwrap().to_owned();
    let verified = verify(app, &id, code);
    assert_eq!(verified.status, 201, "{verified:?}");
    verified.json()["token"].as_str().unwrap().to_owned()
}

pub(super) fn verify(app: &TestApp, challenge_id: &str, code: &str) -> Answer {
    let body = serde_json::json!({"challenge_id": challenge_id, "method": "totp", "code": code}).to_string();
    app.post_json("/v1/login/verify", &body, &[])
}

/// The version of the consent text in force for factors of `kind` (`totp` or `sms`), as the app publishes it.
pub(super) fn consent_version(app: &TestApp, kind: &str) -> String {
    let texts = app.get("/v1/consent-texts").json();
    let text = texts["texts"].as_array().unwrap().iter().find(|text| text["purpose"] == kind).cloned();
    text.and_then(|text| text["version"].as_str().map(str::to_owned)).unwrap_or_else(|| panic!("{texts}"))
}

/// `body` (a JSON object, or `""` for none) with the user's consent to the text in force for `kind` added.
pub(super) fn with_consent(app: &TestApp, kind: &str, body: &str) -> String {
    let mut fields: serde_json::Value =
        if body.is_empty() { serde_json::json!({}) } else { serde_json::from_str(body).unwrap() };
    fields["consent"] = serde_json::json!(consent_version(app, kind));
    fields.to_string()
}

/// Starts an authenticator's enrollment (`body`: `""` or `{"name"}`), consenting to the text in force: its id, and
/// the secret in its otpauth URI.
pub(super) fn start_enrollment(app: &TestApp, token: &str, body: &str) -> (String, Vec<u8>) {
    let started = post(app, token, "/v1/mfa/totp", &with_consent(app, "totp", body));
    assert_eq!(started.status, 201, "{started:?}");
    let started = started.json();
    (started["id"].as_str().unwrap().to_owned(), secret_of(started["otpauth_uri"].as_str().unwrap()))
}

/// Confirms enrollment `id` with `code`.
pub(super) fn confirm(app: &TestApp, token: &str, id: &str, code: &str) -> Answer {
    post(app, token, &format!("/v1/mfa/totp/{id}/confirm"), &serde_json::json!({"code": code}).to_string())
}

/// A user with one confirmed authenticator: its secret, and the step-0 session's token.
pub(super) fn enrolled(app: &TestApp, email: &str) -> (Vec<u8>, String) {
    let token = signed_in(app, email);
    let (id, secret) = start_enrollment(app, &token, "");
    let confirmed = confirm(app, &token, &id, &totp(&secret, unix_now()));
    assert_eq!(confirmed.status, 200, "{confirmed:?}");
    (secret, token)
}

#[test]
fn with_an_authenticator_the_password_gives_a_challenge_that_a_code_turns_into_an_aal2_session() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend);
        let (secret, first) = enrolled(&app, "two@example.com");
        let challenge = app.login("two@example.com", PASSWORD, &[]);
        assert_eq!(challenge.status, 200, "{backend:?}: {challenge:?}");
        let body = challenge.json();
        assert_eq!(
            (body["mfa_required"].as_bool(), body["methods"].clone()),
            (Some(true), serde_json::json!(["totp", "backup_code"]))
        );
        assert!(body.get("token").is_none() && challenge.set_cookie("__Host-mfa_session").is_none(), "no session yet");
        let id = body["challenge_id"].as_str().unwrap().to_owned();
        assert_eq!(id.len(), 43, "256 bits");

        let wrong = verify(&app, &id, if totp(&secret, unix_now() + 30) == "000000" { "111111" } else { "000000" });
        assert_eq!((wrong.status, wrong.error_code().as_str()), (401, "invalid_code"), "{backend:?}");
        assert_eq!(wrong.json()["error"]["checks_left"], 4);
        // The code of the next step (the confirmation used this one): accepted once.
        let code = totp(&secret, unix_now() + 30);
        let session = verify(&app, &id, &code);
        assert_eq!(session.status, 201, "{backend:?}: {session:?}");
        let session_body = session.json();
        assert_eq!((session_body["aal"].as_i64(), session_body["method"].as_str()), (Some(2), Some("totp")));
        let token = session_body["token"].as_str().unwrap().to_owned();
        assert_eq!(get(&app, &token, "/v1/session").status, 200);
        // The challenge is spent; the same code on a new challenge is a replay.
        assert_eq!(verify(&app, &id, &code).error_code(), "challenge_invalid");
        let again = app.login("two@example.com", PASSWORD, &[]).json()["challenge_id"].as_str().unwrap().to_owned();
        let replay = verify(&app, &again, &code);
        assert_eq!((replay.status, replay.error_code().as_str()), (401, "code_already_used"), "{backend:?}");
        let events = get(&app, &first, "/v1/activity").json();
        let kinds: Vec<&str> = events["events"].as_array().unwrap().iter().filter_map(|e| e["kind"].as_str()).collect();
        assert!(kinds.contains(&"totp_replay_refused") && kinds.contains(&"second_factor_failed"), "{kinds:?}");
        // Unknown and malformed challenges.
        assert_eq!(verify(&app, &"A".repeat(43), &code).error_code(), "challenge_invalid");
        assert_eq!(verify(&app, "short", &code).error_code(), "challenge_invalid");
    }
}

#[test]
fn a_challenge_dies_after_five_wrong_codes() {
    for backend in BACKENDS {
        let app = Arc::new(TestApp::spawn(backend));
        let (secret, _) = enrolled(&app, "five@example.com");
        let id = app.login("five@example.com", PASSWORD, &[]).json()["challenge_id"].as_str().unwrap().to_owned();
        let right = totp(&secret, unix_now() + 30);
        let wrong = if right == "000000" { "111111" } else { "000000" };
        // Twenty wrong codes at once: exactly five are checked, the rest find the challenge dead.
        let calls: Vec<Call<String>> = (0..AT_ONCE)
            .map(|_| {
                let (app, id) = (app.clone(), id.clone());
                Box::new(move || verify(&app, &id, wrong).error_code()) as Call<String>
            })
            .collect();
        let codes = all_at_once(calls);
        assert_eq!(codes.iter().filter(|c| *c == "invalid_code").count(), 5, "{backend:?}: {codes:?}");
        assert_eq!(codes.iter().filter(|c| *c == "challenge_invalid").count(), AT_ONCE - 5, "{backend:?}: {codes:?}");
        // Dead: even the right code no longer gets a session.
        assert_eq!(verify(&app, &id, &right).error_code(), "challenge_invalid", "{backend:?}");
    }
}

#[test]
fn enrollment_shows_the_secret_once_as_uri_and_qr_codes_and_confirms_with_a_current_code() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend);
        let token = signed_in(&app, "tina@example.com");
        let started = post(&app, &token, "/v1/mfa/totp", &with_consent(&app, "totp", r#"{"name": "Phone"}"#));
        assert_eq!(started.status, 201, "{backend:?}: {started:?}");
        let body = started.json();
        let uri = body["otpauth_uri"].as_str().unwrap().to_owned();
        assert!(uri.starts_with("otpauth://totp/MFA%20Service:tina%40example.com?"), "{uri}");
        let secret = secret_of(&uri);
        assert_eq!(secret.len(), 20, "160 bits");
        assert_eq!(body["secret"].as_str().unwrap().trim_end_matches('='), data_encoding::BASE32_NOPAD.encode(&secret));
        // The PNG and the SVG, inline and from their URLs, decode back to the URI.
        let png = base64::engine::general_purpose::STANDARD.decode(body["qr_png"].as_str().unwrap()).unwrap();
        assert_eq!(crate::mfa_core::decode_qr(&crate::mfa_core::decode_png(&png)).1, uri);
        let served = get(&app, &token, body["qr_png_url"].as_str().unwrap());
        assert_eq!((served.status, served.header("content-type")), (200, Some("image/png")), "{backend:?}");
        assert_eq!(crate::mfa_core::decode_qr(&crate::mfa_core::decode_png(&served.bytes)).1, uri);
        let svg = get(&app, &token, body["qr_svg_url"].as_str().unwrap());
        assert_eq!((svg.status, svg.header("content-type")), (200, Some("image/svg+xml")), "{backend:?}");
        for svg in [svg.body.as_str(), body["qr_svg"].as_str().unwrap()] {
            assert_eq!(crate::mfa_core::decode_qr(&crate::mfa_core::rasterise_svg(svg)).1, uri, "{backend:?}");
        }

        // A wrong code does not confirm; a current one does.
        let id = body["id"].as_str().unwrap().to_owned();
        let confirm_with = |code: &str| confirm(&app, &token, &id, code);
        let wrong = confirm_with(if totp(&secret, unix_now()) == "000000" { "111111" } else { "000000" });
        assert_eq!((wrong.status, wrong.error_code().as_str()), (400, "invalid_code"), "{backend:?}");
        let code = totp(&secret, unix_now());
        let confirmed = confirm_with(&code);
        assert_eq!(confirmed.status, 200, "{backend:?}: {confirmed:?}");
        // Confirmed: no more QR code for it, and it is listed as enabled.
        assert_eq!(get(&app, &token, &format!("/v1/mfa/totp/{id}/qr.png")).status, 404);
        let factors = get(&app, &token, "/v1/mfa/factors").json();
        assert_eq!(factors["factors"][0]["enabled"], true, "{backend:?}: {factors}");
        assert_eq!(factors["factors"][0]["name"], "Phone");

        // Nothing stored reveals the secret.
        let encoded = data_encoding::BASE32_NOPAD.encode(&secret);
        let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        for stored in app.table_text("mfa_configurations").into_iter().chain(app.redis_entries()) {
            assert!(!stored.contains(&encoded) && !stored.contains(&hex), "{backend:?}: a secret in the clear");
        }
    }
}

#[test]
fn a_code_is_accepted_once_even_when_sent_twenty_times_at_once() {
    for backend in BACKENDS {
        let app = Arc::new(TestApp::spawn(backend));
        let token = signed_in(&app, "race@example.com");
        let (id, secret) = start_enrollment(&app, &token, "");
        let code = totp(&secret, unix_now());
        let calls: Vec<Call> = (0..AT_ONCE)
            .map(|_| {
                let (app, token, id, code) = (app.clone(), token.clone(), id.clone(), code.clone());
                Box::new(move || confirm(&app, &token, &id, &code)) as Call
            })
            .collect();
        let answers = all_at_once(calls);
        assert_eq!(count(&answers, 200), 1, "{backend:?}: {:?}", statuses(&answers));
        // Every loser was refused as a replay or found the enrollment already confirmed; the code stays used.
        for loser in answers.iter().filter(|a| a.status != 200) {
            assert!(matches!(loser.error_code().as_str(), "code_already_used" | "enrollment_not_found"), "{loser:?}");
        }
        let again = confirm(&app, &token, &id, &code);
        assert_eq!(again.status, 404, "{backend:?}: confirmed already");
    }
}

#[test]
fn changing_factors_once_there_is_one_needs_a_recent_authentication() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend);
        let token = signed_in(&app, "step@example.com");
        let (id, secret) = start_enrollment(&app, &token, "");
        assert_eq!(confirm(&app, &token, &id, &totp(&secret, unix_now())).status, 200);
        // Eleven minutes later, adding or removing one needs a step-up.
        app.age_session(&token, 11 * 60, 0);
        let add = post(&app, &token, "/v1/mfa/totp", &with_consent(&app, "totp", ""));
        assert_eq!((add.status, add.error_code().as_str()), (403, "step_up_required"), "{backend:?}");
        let remove = app.request("DELETE", &format!("/v1/mfa/totp/{id}"), &[("authorization", &bearer(&token))], "");
        assert_eq!((remove.status, remove.error_code().as_str()), (403, "step_up_required"), "{backend:?}");
        // A fresh login (password, then a code) is recent: it may remove it.
        let fresh = login_with_code(&app, "step@example.com", &totp(&secret, unix_now() + 30));
        let removed = app.request("DELETE", &format!("/v1/mfa/totp/{id}"), &[("authorization", &bearer(&fresh))], "");
        assert_eq!(removed.status, 200, "{backend:?}: {removed:?}");
        assert!(get(&app, &fresh, "/v1/mfa/factors").json()["factors"].as_array().unwrap().is_empty());
    }
}

#[test]
fn a_code_is_accepted_once_across_two_instances() {
    for backend in BACKENDS {
        // A lockout far away: twenty attempts of one user must all be looked at.
        let first = Arc::new(TestApp::migrated(backend, &[("second_factor_lockout", "100/900/60/600/1000")]));
        let second = Arc::new(first.sibling(&[]));
        let (secret, _) = enrolled(&first, "twice@example.com");
        let code = totp(&secret, unix_now() + 30);
        // One challenge each (a challenge takes five checks), half on each instance, all answered at once.
        let calls: Vec<Call> = (0..AT_ONCE)
            .map(|n| {
                let app = if n % 2 == 0 { first.clone() } else { second.clone() };
                let code = code.clone();
                let challenge = app.login("twice@example.com", PASSWORD, &[]).json();
                let id = challenge["challenge_id"].as_str().unwrap().to_owned();
                Box::new(move || verify(&app, &id, &code)) as Call
            })
            .collect();
        let answers = all_at_once(calls);
        assert_eq!(count(&answers, 201), 1, "{backend:?}: {:?}", statuses(&answers));
        for loser in answers.iter().filter(|a| a.status != 201) {
            assert_eq!(loser.error_code(), "code_already_used", "{backend:?}: {loser:?}");
        }
    }
}

#[test]
fn a_new_key_seals_secrets_again_as_they_are_used_and_the_old_key_can_then_go() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend);
        let token = signed_in(&app, "rotate@example.com");
        let (id, secret) = start_enrollment(&app, &token, "");
        // Three codes of consecutive steps, all within the accepted window: the enrollment takes the oldest.
        let now = unix_now();
        let confirmed = confirm(&app, &token, &id, &totp(&secret, now - 30));
        assert_eq!(confirmed.status, 200, "{backend:?}: {confirmed:?}");
        let stored =
            |app: &TestApp| app.rows("SELECT key_id, CAST(length(secret_ciphertext) AS TEXT) FROM mfa_configurations");
        assert_eq!(stored(&app)[0][0].as_deref(), Some("test"), "{backend:?}");

        // A new key first: the next accepted code seals the secret under it.
        let old = app.variable("encryption_keys").unwrap().to_owned();
        let new_key = format!("k2:{}", base64::engine::general_purpose::STANDARD.encode([7u8; 32]));
        let rotated = app.sibling(&[("encryption_keys", &format!("{new_key},{old}"))]);
        login_with_code(&rotated, "rotate@example.com", &totp(&secret, now));
        assert_eq!(stored(&app)[0][0].as_deref(), Some("k2"), "{backend:?}: sealed again under the new key");

        // The old key gone, the secret still opens.
        let only_new = app.sibling(&[("encryption_keys", &new_key)]);
        login_with_code(&only_new, "rotate@example.com", &totp(&secret, now + 30));
    }
}

#[test]
fn several_named_authenticators_are_listed_and_each_answers_a_challenge() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend);
        let token = signed_in(&app, "many@example.com");
        let mut secrets = Vec::new();
        for name in ["Phone", "Tablet"] {
            let (id, secret) = start_enrollment(&app, &token, &serde_json::json!({"name": name}).to_string());
            let confirmed = confirm(&app, &token, &id, &totp(&secret, unix_now()));
            assert_eq!(confirmed.status, 200, "{backend:?}: {name}: {confirmed:?}");
            secrets.push(secret);
        }
        assert_ne!(secrets[0], secrets[1]);
        let factors = get(&app, &token, "/v1/mfa/factors").json();
        let mut names: Vec<&str> =
            factors["factors"].as_array().unwrap().iter().filter_map(|f| f["name"].as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["Phone", "Tablet"], "{backend:?}: {factors}");
        // Either app's code answers a challenge; each keeps its own last accepted step.
        login_with_code(&app, "many@example.com", &totp(&secrets[1], unix_now() + 30));
        login_with_code(&app, "many@example.com", &totp(&secrets[0], unix_now() + 30));
    }
}

#[test]
fn an_authenticator_is_renamed_by_its_owner_only() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend);
        let (_, token) = enrolled(&app, "names@example.com");
        let id = get(&app, &token, "/v1/mfa/factors").json()["factors"][0]["id"].as_str().unwrap().to_owned();
        let rename = |token: &str, id: &str, body: &str| {
            app.request(
                "PATCH",
                &format!("/v1/mfa/totp/{id}"),
                &[("authorization", &bearer(token)), ("content-type", "application/json")],
                body,
            )
        };
        let renamed = rename(&token, &id, r#"{"name": "  Work phone "}"#);
        assert_eq!((renamed.status, renamed.json()["name"].as_str()), (200, Some("Work phone")), "{backend:?}");
        assert_eq!(get(&app, &token, "/v1/mfa/factors").json()["factors"][0]["name"], "Work phone");
        let long = serde_json::json!({"name": "x".repeat(65)}).to_string();
        assert_eq!(rename(&token, &id, &long).error_code(), "invalid_name", "{backend:?}");
        assert_eq!(rename(&token, "nope", r#"{"name": "A"}"#).status, 404);
        let stranger = signed_in(&app, "stranger@example.com");
        assert_eq!(rename(&stranger, &id, r#"{"name": "Mine now"}"#).status, 404, "{backend:?}");
        assert_eq!(get(&app, &token, "/v1/mfa/factors").json()["factors"][0]["name"], "Work phone");
    }
}

#[test]
fn reencryption_reseals_every_secret_in_batches_so_a_leaked_key_can_be_removed() {
    let key = |id: &str, byte: u8| format!("{id}:{}", base64::engine::general_purpose::STANDARD.encode([byte; 32]));
    for backend in BACKENDS {
        let app = TestApp::spawn(backend);
        let now = unix_now();
        // Three users with an authenticator under the first key, and one whose key is no longer listed.
        let mut users = Vec::new();
        for name in ["ada", "bob", "cy", "dee"] {
            let email = format!("{name}@example.com");
            let token = signed_in(&app, &email);
            let (id, secret) = start_enrollment(&app, &token, "");
            assert_eq!(confirm(&app, &token, &id, &totp(&secret, now - 30)).status, 200, "{backend:?}");
            users.push((email, id, secret));
        }
        let dee = &users[3].1;
        app.execute(&format!("UPDATE mfa_configurations SET key_id = 'retired' WHERE id = '{dee}'"));
        let key_of = |id: &str| app.rows(&format!("SELECT key_id FROM mfa_configurations WHERE id = '{id}'"));

        let old = app.variable("encryption_keys").unwrap().to_owned();
        let rotated = app.sibling(&[("encryption_keys", &format!("{},{old}", key("k2", 7)))]);
        let reencrypt = |app: &TestApp, body: &str| app.post_with_key("/v1/admin/reencrypt", body);
        assert_eq!(rotated.request("POST", "/v1/admin/reencrypt", &[], "").error_code(), "unauthorized");
        assert_eq!(reencrypt(&rotated, r#"{"limit": 0}"#).error_code(), "invalid_field", "{backend:?}");
        let first = reencrypt(&rotated, r#"{"limit": 2}"#);
        assert_eq!(first.status, 200, "{backend:?}: {first:?}");
        let expected =
            serde_json::json!({"current_key": "k2", "resealed": 2, "remaining": 1, "unknown_key": 1, "unreadable": []});
        assert_eq!(first.json(), expected, "{backend:?}");
        let second = reencrypt(&rotated, "").json();
        assert_eq!((&second["resealed"], &second["remaining"]), (&1.into(), &0.into()), "{backend:?}: {second}");
        assert_eq!(reencrypt(&rotated, "").json()["resealed"], 0, "{backend:?}: nothing left to do");
        for (_, id, _) in &users[..3] {
            assert_eq!(key_of(id)[0][0].as_deref(), Some("k2"), "{backend:?}");
        }
        assert_eq!(key_of(dee)[0][0].as_deref(), Some("retired"), "{backend:?}: a secret it cannot open is untouched");

        // The old key removed: every resealed secret still opens, though none was used since.
        let only_new = app.sibling(&[("encryption_keys", &key("k2", 7))]);
        for (email, _, secret) in &users[..3] {
            login_with_code(&only_new, email, &totp(secret, now));
        }

        // A secret that does not open under its own key (here: another user's ciphertext) is named and kept.
        let (ada, bob) = (&users[0].1, &users[1].1);
        app.execute(&format!(
            "UPDATE mfa_configurations SET secret_ciphertext = \
             (SELECT secret_ciphertext FROM mfa_configurations WHERE id = '{bob}') WHERE id = '{ada}'"
        ));
        let third = app.sibling(&[("encryption_keys", &format!("{},{}", key("k3", 9), key("k2", 7)))]);
        let answer = reencrypt(&third, "").json();
        let expected = serde_json::json!({
            "current_key": "k3", "resealed": 2, "remaining": 1, "unknown_key": 1, "unreadable": [ada]
        });
        assert_eq!(answer, expected, "{backend:?}");
        assert_eq!(key_of(ada)[0][0].as_deref(), Some("k2"), "{backend:?}");
    }
}
