//! TOTP authenticators end to end, on both backends: enrollment (secret, otpauth URI, QR codes that decode back to
//! it), confirmation with codes computed here by an independent RFC 6238 implementation, replay refusal (also for
//! two parallel submissions), step-up for changes, and no secret in the clear in the database.

use std::sync::Arc;

use base64::Engine as _;
use hmac::{KeyInit, Mac};

use super::TestApp;
use super::app::{Answer, BACKENDS};

const PASSWORD: &str = "correct horse battery staple";

/// RFC 6238 with HMAC-SHA-1, 6 digits, 30-second steps, written here from the RFC (not the component's code).
fn totp(secret: &[u8], unix: u64) -> String {
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(secret).unwrap();
    mac.update(&(unix / 30).to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let binary =
        u32::from_be_bytes([digest[offset] & 0x7f, digest[offset + 1], digest[offset + 2], digest[offset + 3]]);
    format!("{:06}", binary % 1_000_000)
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// The secret in an otpauth URI's `secret` parameter.
fn secret_of(uri: &str) -> Vec<u8> {
    let query = uri.split_once('?').unwrap().1;
    let encoded = query.split('&').find_map(|pair| pair.strip_prefix("secret=")).unwrap();
    data_encoding::BASE32_NOPAD.decode(encoded.trim_end_matches('=').as_bytes()).unwrap()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn signed_in(app: &TestApp, email: &str) -> String {
    assert_eq!(app.register(email, PASSWORD).status, 201);
    app.login(email, PASSWORD, &[]).json()["token"].as_str().unwrap().to_owned()
}

fn post(app: &TestApp, token: &str, path: &str, body: &str) -> Answer {
    app.post_json(path, body, &[("authorization", &bearer(token))])
}

fn get(app: &TestApp, token: &str, path: &str) -> Answer {
    app.request("GET", path, &[("authorization", &bearer(token))], "")
}

#[test]
fn enrollment_shows_the_secret_once_as_uri_and_qr_codes_and_confirms_with_a_current_code() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend);
        let token = signed_in(&app, "tina@example.com");
        let started = post(&app, &token, "/v1/mfa/totp", r#"{"name": "Phone"}"#);
        assert_eq!(started.status, 201, "{backend:?}: {started:?}");
        let body = started.json();
        let uri = body["otpauth_uri"].as_str().unwrap().to_owned();
        assert!(uri.starts_with("otpauth://totp/MFA%20Service:tina%40example.com?"), "{uri}");
        let secret = secret_of(&uri);
        assert_eq!(secret.len(), 20, "160 bits");
        assert_eq!(body["secret"].as_str().unwrap().trim_end_matches('='), data_encoding::BASE32_NOPAD.encode(&secret));
        // The PNG (inline and from its URL) decodes back to the URI; the SVG is served as SVG.
        let png = base64::engine::general_purpose::STANDARD.decode(body["qr_png"].as_str().unwrap()).unwrap();
        assert_eq!(crate::mfa_core::decode_qr(&crate::mfa_core::decode_png(&png)).1, uri);
        let served = get(&app, &token, body["qr_png_url"].as_str().unwrap());
        assert_eq!((served.status, served.header("content-type")), (200, Some("image/png")), "{backend:?}");
        assert_eq!(crate::mfa_core::decode_qr(&crate::mfa_core::decode_png(&served.bytes)).1, uri);
        let svg = get(&app, &token, body["qr_svg_url"].as_str().unwrap());
        assert_eq!((svg.status, svg.header("content-type")), (200, Some("image/svg+xml")), "{backend:?}");
        assert!(svg.body.contains("<svg"));

        // A wrong code does not confirm; a current one does.
        let id = body["id"].as_str().unwrap().to_owned();
        let confirm =
            |code: &str| post(&app, &token, &format!("/v1/mfa/totp/{id}/confirm"), &format!(r#"{{"code": "{code}"}}"#));
        let wrong = confirm(if totp(&secret, unix_now()) == "000000" { "111111" } else { "000000" });
        assert_eq!((wrong.status, wrong.error_code().as_str()), (400, "invalid_code"), "{backend:?}");
        let code = totp(&secret, unix_now());
        let confirmed = confirm(&code);
        assert_eq!(confirmed.status, 200, "{backend:?}: {confirmed:?}");
        // Confirmed: no more QR code for it, and it is listed as enabled.
        assert_eq!(get(&app, &token, &format!("/v1/mfa/totp/{id}/qr.png")).status, 404);
        let factors = get(&app, &token, "/v1/mfa/factors").json();
        assert_eq!(factors["factors"][0]["enabled"], true, "{backend:?}: {factors}");
        assert_eq!(factors["factors"][0]["name"], "Phone");

        // Nothing stored reveals the secret.
        let encoded = data_encoding::BASE32_NOPAD.encode(&secret);
        let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        for stored in app.table_text("mfa_configurations") {
            assert!(!stored.contains(&encoded) && !stored.contains(&hex), "{backend:?}: a secret in the clear");
        }
    }
}

#[test]
fn a_code_is_accepted_once_even_when_sent_twice_at_once() {
    for backend in BACKENDS {
        let app = Arc::new(TestApp::spawn(backend));
        let token = signed_in(&app, "race@example.com");
        let started = post(&app, &token, "/v1/mfa/totp", "").json();
        let (id, secret) =
            (started["id"].as_str().unwrap().to_owned(), secret_of(started["otpauth_uri"].as_str().unwrap()));
        let code = totp(&secret, unix_now());
        let attempts: Vec<_> = (0..2)
            .map(|_| {
                let (app, token, id, code) = (app.clone(), token.clone(), id.clone(), code.clone());
                std::thread::spawn(move || {
                    post(&app, &token, &format!("/v1/mfa/totp/{id}/confirm"), &format!(r#"{{"code": "{code}"}}"#))
                })
            })
            .collect();
        let answers: Vec<Answer> = attempts.into_iter().map(|a| a.join().unwrap()).collect();
        let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{backend:?}: {statuses:?}");
        // The loser was refused as a replay or found the enrollment already confirmed; the code stays used.
        let loser = answers.iter().find(|a| a.status != 200).unwrap();
        assert!(matches!(loser.error_code().as_str(), "code_already_used" | "enrollment_not_found"), "{loser:?}");
        let again = post(&app, &token, &format!("/v1/mfa/totp/{id}/confirm"), &format!(r#"{{"code": "{code}"}}"#));
        assert_eq!(again.status, 404, "{backend:?}: confirmed already");
    }
}

#[test]
fn changing_factors_once_there_is_one_needs_a_recent_authentication() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend);
        let token = signed_in(&app, "step@example.com");
        let started = post(&app, &token, "/v1/mfa/totp", "").json();
        let (id, secret) =
            (started["id"].as_str().unwrap().to_owned(), secret_of(started["otpauth_uri"].as_str().unwrap()));
        let code = totp(&secret, unix_now());
        assert_eq!(
            post(&app, &token, &format!("/v1/mfa/totp/{id}/confirm"), &format!(r#"{{"code": "{code}"}}"#)).status,
            200
        );
        // Eleven minutes later, adding or removing one needs a step-up.
        app.age_session(&token, 11 * 60, 0);
        let add = post(&app, &token, "/v1/mfa/totp", "");
        assert_eq!((add.status, add.error_code().as_str()), (403, "step_up_required"), "{backend:?}");
        let remove = app.request("DELETE", &format!("/v1/mfa/totp/{id}"), &[("authorization", &bearer(&token))], "");
        assert_eq!((remove.status, remove.error_code().as_str()), (403, "step_up_required"), "{backend:?}");
        // A fresh login is recent: it may remove it.
        let fresh = app.login("step@example.com", PASSWORD, &[]).json()["token"].as_str().unwrap().to_owned();
        let removed = app.request("DELETE", &format!("/v1/mfa/totp/{id}"), &[("authorization", &bearer(&fresh))], "");
        assert_eq!(removed.status, 200, "{backend:?}: {removed:?}");
        assert!(get(&app, &fresh, "/v1/mfa/factors").json()["factors"].as_array().unwrap().is_empty());
    }
}
