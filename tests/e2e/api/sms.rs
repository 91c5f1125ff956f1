//! SMS through Twilio end to end, on both backends, against the loopback fake ([`super::twilio::FakeTwilio`]):
//! phone enrollment and login with an SMS code, the send limits and toll-fraud caps, Twilio's retries and its
//! failures, and no code in the clear in the database or Redis.

use serde_json::json;

use super::TestApp;
use super::app::{Answer, BACKENDS, Backend};
use super::totp::{PASSWORD, post, signed_in, with_consent};
use super::twilio::{FakeTwilio, Scripted};

fn app_with(backend: Backend, twilio: &FakeTwilio, more: &[(&str, &str)]) -> TestApp {
    let variables = twilio.variables();
    let mut all: Vec<(&str, &str)> = variables.iter().map(|(name, value)| (*name, value.as_str())).collect();
    all.extend_from_slice(more);
    TestApp::migrated(backend, &all)
}

fn add_phone(app: &TestApp, token: &str, phone: &str) -> Answer {
    post(app, token, "/v1/mfa/sms", &with_consent(app, "sms", &json!({"phone": phone}).to_string()))
}

#[test]
fn a_phone_is_enrolled_by_a_code_and_then_answers_login_challenges() {
    for backend in BACKENDS {
        let twilio = FakeTwilio::start();
        let app = app_with(backend, &twilio, &[]);
        let token = signed_in(&app, "sms@example.com");
        for bad in ["07700 900123", "+0 123 4567", "+44 7700 abc", "+999 1234567"] {
            let refused = add_phone(&app, &token, bad);
            assert_eq!((refused.status, refused.error_code().as_str()), (400, "invalid_phone_number"), "{bad}");
        }
        assert_eq!(twilio.requests(), 0, "{backend:?}: nothing sent for a bad number");

        let added = add_phone(&app, &token, "+44 7700 900123");
        assert_eq!(added.status, 201, "{backend:?}: {added:?}");
        let body = added.json();
        assert_eq!(body["phone"], "+44 ••••••••23");
        assert!(!added.body.contains("900123"), "the number is masked");
        let message = twilio.messages().last().unwrap().clone();
        assert_eq!((message.to.as_str(), message.from.as_str()), ("+447700900123", super::twilio::FROM));
        let code = message.code();
        assert!(!added.body.contains(&code), "{backend:?}: the code is never answered");

        let id = body["id"].as_str().unwrap().to_owned();
        let confirm =
            |code: &str| post(&app, &token, &format!("/v1/mfa/sms/{id}/confirm"), &json!({"code": code}).to_string());
        let wrong = confirm(if code == "000000" { "111111" } else { "000000" });
        assert_eq!((wrong.status, wrong.error_code().as_str()), (400, "invalid_code"), "{backend:?}");
        assert_eq!(wrong.json()["error"]["checks_left"], 4, "{backend:?}: 5 checks, 1 used");
        let confirmed = confirm(&code);
        assert_eq!(confirmed.status, 200, "{backend:?}: {confirmed:?}");
        assert_eq!(confirmed.json()["backup_codes"].as_array().map(Vec::len), Some(10), "first factor");

        // Login: the challenge offers SMS; a code is sent for it and answers it.
        let challenge = app.login("sms@example.com", PASSWORD, &[]).json();
        assert_eq!(challenge["methods"], json!(["sms", "backup_code"]), "{backend:?}");
        let challenge_id = challenge["challenge_id"].as_str().unwrap().to_owned();
        let sent = app.post_json("/v1/login/sms", &json!({"challenge_id": challenge_id}).to_string(), &[]);
        assert_eq!(sent.status, 200, "{backend:?}: {sent:?}");
        let login_code = twilio.messages().last().unwrap().code();
        // The enrollment's code is bound to the enrollment: useless here.
        let verify = |code: &str| {
            let body = json!({"challenge_id": challenge_id, "method": "sms", "code": code}).to_string();
            app.post_json("/v1/login/verify", &body, &[])
        };
        if code != login_code {
            assert_eq!(verify(&code).status, 401, "{backend:?}");
        }
        let session = verify(&login_code);
        assert_eq!(session.status, 201, "{backend:?}: {session:?}");
        assert_eq!((session.json()["aal"].as_i64(), session.json()["method"].as_str()), (Some(2), Some("sms")));
        assert!(twilio.malformed().is_empty(), "{:?}", twilio.malformed());

        // Nothing stored holds a code or the Twilio token.
        for table in ["sms_codes", "mfa_configurations", "security_events"] {
            for row in app.table_text(table) {
                assert!(!holds(&row, &code) && !holds(&row, &login_code), "{backend:?}: a code in {table}: {row}");
                assert!(!row.contains(super::twilio::AUTH_TOKEN), "{backend:?}: the token in {table}");
            }
        }
        for entry in app.redis_entries() {
            assert!(!holds(&entry, &code) && !holds(&entry, &login_code), "{backend:?}: a code in Redis: {entry}");
        }

        // Removing the phone needs a recent authentication, and ends the sessions established with it.
        let sms_session = session.json()["token"].as_str().unwrap().to_owned();
        let remove = |token: &str| {
            app.request("DELETE", &format!("/v1/mfa/sms/{id}"), &[("authorization", &super::totp::bearer(token))], "")
        };
        app.age_session(&sms_session, 11 * 60, 0);
        let refused = remove(&sms_session);
        assert_eq!((refused.status, refused.error_code().as_str()), (403, "step_up_required"), "{backend:?}");
        let removed = remove(&token);
        assert_eq!(removed.status, 200, "{backend:?}: {removed:?}");
        assert_eq!(super::totp::get(&app, &sms_session, "/v1/session").status, 401, "{backend:?}: established with it");
        assert_eq!(super::totp::get(&app, &token, "/v1/session").status, 200, "{backend:?}: the acting session stays");
        assert!(app.table_text("sms_codes").is_empty(), "{backend:?}: its codes are forgotten");
    }
}

#[test]
fn sends_are_limited_per_phone_per_address_per_country_and_per_day() {
    for backend in BACKENDS {
        let twilio = FakeTwilio::start();
        let app = app_with(backend, &twilio, &[("sms_limit_ip", "5/3600")]);
        let token = signed_in(&app, "limits@example.com");
        // Three sends to one phone in 10 minutes, not four; each answer says how many more may follow.
        for left in [2, 1, 0] {
            let added = add_phone(&app, &token, "+44 7700 900001");
            assert_eq!((added.status, added.json()["sends_left"].as_i64()), (201, Some(left)), "{backend:?}");
        }
        let fourth = add_phone(&app, &token, "+44 7700 900001");
        assert_eq!(
            (fourth.status, fourth.error_code().as_str()),
            (429, "too_many_attempts"),
            "{backend:?}: {fourth:?}"
        );
        assert!(fourth.header("retry-after").is_some_and(|s| s.parse::<u64>().unwrap() > 500), "{fourth:?}");
        // Five per address per hour, whatever the phone.
        assert_eq!(add_phone(&app, &token, "+44 7700 900002").status, 201, "{backend:?}");
        assert_eq!(add_phone(&app, &token, "+44 7700 900003").status, 201, "{backend:?}");
        let by_ip = add_phone(&app, &token, "+44 7700 900004");
        assert_eq!(by_ip.status, 429, "{backend:?}: {by_ip:?}");
        assert_eq!(twilio.messages().len(), 5, "{backend:?}: refused sends are not sent");
        let activity = super::totp::get(&app, &token, "/v1/activity").json();
        let limits: Vec<&str> = activity["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "sms_throttled")
            .filter_map(|e| e["detail"]["limit"].as_str())
            .collect();
        assert_eq!(limits, ["sms_ip", "sms_phone"], "{backend:?}: newest first");

        // Per country calling code, and the daily budget.
        let twilio = FakeTwilio::start();
        let app = app_with(backend, &twilio, &[("sms_limit_country", "2/3600"), ("sms_daily_budget", "3")]);
        let token = signed_in(&app, "pumping@example.com");
        assert_eq!(add_phone(&app, &token, "+44 7700 900011").status, 201);
        assert_eq!(add_phone(&app, &token, "+44 7700 900012").status, 201);
        let country = add_phone(&app, &token, "+44 7700 900013");
        assert_eq!(country.status, 429, "{backend:?}: country cap: {country:?}");
        assert_eq!(add_phone(&app, &token, "+1 415 555 0100").status, 201, "{backend:?}: another country");
        let daily = add_phone(&app, &token, "+33 6 12 34 56 78");
        assert_eq!(daily.status, 429, "{backend:?}: daily budget: {daily:?}");
    }
}

#[test]
fn twilio_failures_are_retried_then_answered_as_502_or_a_bad_number() {
    for backend in BACKENDS {
        let twilio = FakeTwilio::start();
        let app = app_with(backend, &twilio, &[]);
        let token = signed_in(&app, "retry@example.com");
        // A 429 (honouring its Retry-After) and a 500, then success: one message.
        twilio.script(&[Scripted::TooManyRequests(1), Scripted::ServerError]);
        let started = std::time::Instant::now();
        let added = add_phone(&app, &token, "+44 7700 900021");
        assert_eq!(added.status, 201, "{backend:?}: {added:?} {:?}", twilio.malformed());
        assert!(started.elapsed() >= std::time::Duration::from_secs(1), "Retry-After honoured");
        assert_eq!((twilio.requests(), twilio.messages().len()), (3, 1), "{backend:?}");
        // Failing every attempt: 502 after 3 of them.
        twilio.script(&[Scripted::ServerError, Scripted::TooManyRequests(0), Scripted::ServerError]);
        let failed = add_phone(&app, &token, "+44 7700 900022");
        assert_eq!((failed.status, failed.error_code().as_str()), (502, "sms_provider_unavailable"), "{backend:?}");
        assert_eq!(twilio.requests(), 6, "{backend:?}: bounded retries");
        // Twilio's 21211: the number is refused at once.
        twilio.script(&[Scripted::InvalidNumber]);
        let bad = add_phone(&app, &token, "+44 7700 900023");
        assert_eq!((bad.status, bad.error_code().as_str()), (400, "invalid_phone_number"), "{backend:?}");
        assert_eq!(twilio.requests(), 7, "{backend:?}: not retried");
        // A phone whose code was never sent does not stay waiting for it.
        let factors = super::totp::get(&app, &token, "/v1/mfa/factors").json();
        assert!(factors["factors"].as_array().unwrap().is_empty(), "{backend:?}: {factors}");
    }
}

/// Whether `text` holds `code` on its own: not as a piece of a longer run of letters and digits (a hash in hex, a
/// timestamp), where six given digits turn up by chance.
fn holds(text: &str, code: &str) -> bool {
    text.match_indices(code).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + code.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}
