//! Two app instances on one storage (as two Spin instances behind a load balancer), on both backends: every
//! guarantee that a compare-and-set keeps holds across them. Each race releases at least twenty requests together,
//! alternating between the instances, and counts each outcome exactly. (Also across two instances elsewhere: the
//! session cap under 50 parallel logins and the password limit under 30 parallel guesses, in `hardening`; one TOTP
//! code, in `totp`.)

use std::sync::Arc;

use serde_json::json;

use super::TestApp;
use super::app::{Answer, BACKENDS, Backend};
use super::race::{AT_ONCE, Call, all_at_once, count, statuses};
use super::second_factors::{with_backup_codes, wrong_code};
use super::totp::{PASSWORD, bearer, get, post, signed_in, with_consent};
use super::twilio::FakeTwilio;

/// An app on `backend` with `variables`, and a second instance of it.
fn pair(backend: Backend, variables: &[(&str, &str)]) -> (Arc<TestApp>, Arc<TestApp>) {
    let first = Arc::new(TestApp::migrated(backend, variables));
    let second = Arc::new(first.sibling(&[]));
    (first, second)
}

/// The first instance for even `n`, the second for odd.
fn either(pair: &(Arc<TestApp>, Arc<TestApp>), n: usize) -> Arc<TestApp> {
    if n.is_multiple_of(2) { pair.0.clone() } else { pair.1.clone() }
}

fn challenge_id(app: &TestApp, email: &str) -> String {
    let answer = app.login(email, PASSWORD, &[]);
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.json()["challenge_id"].as_str().unwrap().to_owned()
}

fn verify_with(app: &TestApp, challenge_id: &str, method: &str, code: &str) -> Answer {
    let body = json!({"challenge_id": challenge_id, "method": method, "code": code});
    app.post_json("/v1/login/verify", &body.to_string(), &[])
}

/// The lockout set far away, so that every one of a race's attempts is looked at.
const NO_LOCKOUT: (&str, &str) = ("second_factor_lockout", "100/900/60/600/1000");

#[test]
fn one_backup_code_makes_one_session_across_two_instances() {
    for backend in BACKENDS {
        let apps = pair(backend, &[NO_LOCKOUT]);
        let (_, _, codes) = with_backup_codes(&apps.0, "backup@example.com");
        let calls: Vec<Call> = (0..AT_ONCE)
            .map(|n| {
                let app = either(&apps, n);
                let (id, code) = (challenge_id(&app, "backup@example.com"), codes[0].clone());
                Box::new(move || verify_with(&app, &id, "backup_code", &code)) as Call
            })
            .collect();
        let answers = all_at_once(calls);
        assert_eq!(count(&answers, 201), 1, "{backend:?}: {:?}", statuses(&answers));
        assert_eq!(count(&answers, 401), AT_ONCE - 1, "{backend:?}: {:?}", statuses(&answers));
    }
}

#[test]
fn one_sms_code_makes_one_session_across_two_instances() {
    for backend in BACKENDS {
        let twilio = FakeTwilio::start();
        let variables = twilio.variables();
        let mut all: Vec<(&str, &str)> = variables.iter().map(|(name, value)| (*name, value.as_str())).collect();
        all.push(NO_LOCKOUT);
        let apps = pair(backend, &all);
        // A phone, confirmed: the user's first factor.
        let token = signed_in(&apps.0, "sms@example.com");
        let added = post(
            &apps.0,
            &token,
            "/v1/mfa/sms",
            &with_consent(&apps.0, "sms", &json!({"phone": "+44 7700 900123"}).to_string()),
        );
        assert_eq!(added.status, 201, "{backend:?}: {added:?}");
        let id = added.json()["id"].as_str().unwrap().to_owned();
        let code = twilio.messages().last().unwrap().code();
        let confirm = post(&apps.1, &token, &format!("/v1/mfa/sms/{id}/confirm"), &json!({"code": code}).to_string());
        assert_eq!(confirm.status, 200, "{backend:?}: {confirm:?}");
        // One challenge, one code sent for it, and that code sent twenty times at once through both instances:
        // the challenge takes five checks, one of which makes the session.
        let challenge = challenge_id(&apps.0, "sms@example.com");
        let sent = apps.1.post_json("/v1/login/sms", &json!({"challenge_id": challenge}).to_string(), &[]);
        assert_eq!(sent.status, 200, "{backend:?}: {sent:?}");
        let code = twilio.messages().last().unwrap().code();
        let calls: Vec<Call> = (0..AT_ONCE)
            .map(|n| {
                let (app, challenge, code) = (either(&apps, n), challenge.clone(), code.clone());
                Box::new(move || verify_with(&app, &challenge, "sms", &code)) as Call
            })
            .collect();
        let answers = all_at_once(calls);
        assert_eq!(count(&answers, 201), 1, "{backend:?}: {:?}", statuses(&answers));
        assert_eq!(count(&answers, 401), AT_ONCE - 1, "{backend:?}: {:?}", statuses(&answers));
    }
}

#[test]
fn the_second_factor_lockout_counts_every_attempt_across_two_instances() {
    for backend in BACKENDS {
        let apps = pair(backend, &[("second_factor_lockout", "3/900/60/600/100")]);
        let (secret, token, _) = with_backup_codes(&apps.0, "burst@example.com");
        let wrong = wrong_code(&secret);
        // Four challenges of five checks, twenty wrong codes at once: three are looked at, then checks are locked.
        let challenges: Vec<String> = (0..4).map(|n| challenge_id(&either(&apps, n), "burst@example.com")).collect();
        let calls: Vec<Call> = (0..AT_ONCE)
            .map(|n| {
                let (app, id) = (either(&apps, n), challenges[n % 4].clone());
                Box::new(move || verify_with(&app, &id, "totp", wrong)) as Call
            })
            .collect();
        let answers = all_at_once(calls);
        assert_eq!(
            (count(&answers, 401), count(&answers, 429)),
            (2, AT_ONCE - 2),
            "{backend:?}: {:?}",
            statuses(&answers)
        );
        let activity = get(&apps.1, &token, "/v1/activity").json();
        let failed = activity["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "second_factor_failed");
        assert_eq!(failed.count(), 3, "{backend:?}");
    }
}

#[test]
fn the_sms_send_limit_holds_across_two_instances() {
    for backend in BACKENDS {
        let twilio = FakeTwilio::start();
        let variables = twilio.variables();
        let mut all: Vec<(&str, &str)> = variables.iter().map(|(name, value)| (*name, value.as_str())).collect();
        all.push(("sms_limit_phone", "3/600"));
        let apps = pair(backend, &all);
        let token = signed_in(&apps.0, "sends@example.com");
        let added = post(
            &apps.0,
            &token,
            "/v1/mfa/sms",
            &with_consent(&apps.0, "sms", &json!({"phone": "+44 7700 900456"}).to_string()),
        );
        assert_eq!(added.status, 201, "{backend:?}: {added:?}");
        let id = added.json()["id"].as_str().unwrap().to_owned();
        let code = twilio.messages().last().unwrap().code();
        let confirm = post(&apps.0, &token, &format!("/v1/mfa/sms/{id}/confirm"), &json!({"code": code}).to_string());
        assert_eq!(confirm.status, 200, "{backend:?}: {confirm:?}");
        // The enrollment used one of the phone's three sends; twenty step-up sends at once get exactly two more.
        let calls: Vec<Call> = (0..AT_ONCE)
            .map(|n| {
                let (app, token) = (either(&apps, n), token.clone());
                Box::new(move || {
                    app.request("POST", "/v1/session/step-up/sms", &[("authorization", &bearer(&token))], "")
                }) as Call
            })
            .collect();
        let answers = all_at_once(calls);
        assert_eq!(
            (count(&answers, 200), count(&answers, 429)),
            (2, AT_ONCE - 2),
            "{backend:?}: {:?}",
            statuses(&answers)
        );
        assert_eq!(twilio.messages().len(), 3, "{backend:?}: three messages in all");
    }
}

#[test]
fn one_token_is_rotated_once_across_two_instances() {
    for backend in BACKENDS {
        let apps = pair(backend, &[]);
        assert_eq!(apps.0.register("rotate@example.com", PASSWORD).status, 201);
        let token = apps.0.login("rotate@example.com", PASSWORD, &[]).json()["token"].as_str().unwrap().to_owned();
        let calls: Vec<Call> = (0..AT_ONCE)
            .map(|n| {
                let (app, token) = (either(&apps, n), token.clone());
                Box::new(move || app.request("POST", "/v1/session/refresh", &[("authorization", &bearer(&token))], ""))
                    as Call
            })
            .collect();
        let answers = all_at_once(calls);
        assert_eq!(
            (count(&answers, 200), count(&answers, 401)),
            (1, AT_ONCE - 1),
            "{backend:?}: {:?}",
            statuses(&answers)
        );
        let new = answers.iter().find(|a| a.status == 200).unwrap().json()["token"].as_str().unwrap().to_owned();
        assert_eq!(get(&apps.1, &new, "/v1/session").status, 200, "{backend:?}");
        assert_eq!(get(&apps.0, &token, "/v1/session").status, 401, "{backend:?}");
    }
}

#[test]
fn parallel_regenerations_leave_one_set_of_backup_codes() {
    for backend in BACKENDS {
        let apps = pair(backend, &[]);
        let (_, token, _) = with_backup_codes(&apps.0, "regenerate@example.com");
        let calls: Vec<Call> = (0..AT_ONCE)
            .map(|n| {
                let (app, token) = (either(&apps, n), token.clone());
                Box::new(move || post(&app, &token, "/v1/mfa/backup-codes", "")) as Call
            })
            .collect();
        let answers = all_at_once(calls);
        assert_eq!(count(&answers, 201), AT_ONCE, "{backend:?}: {:?}", statuses(&answers));
        assert_eq!(get(&apps.1, &token, "/v1/mfa/backup-codes").json()["remaining"], 10, "{backend:?}: one set");
    }
}
