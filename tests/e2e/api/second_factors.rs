//! Backup codes, the per-user second-factor lockout, step-up, trusted devices, the sessions of a removed factor, and
//! the service API's challenge, end to end on both backends. TOTP codes come from the test's own RFC 6238.

use std::sync::Arc;

use serde_json::json;

use super::TestApp;
use super::app::{Answer, BACKENDS};
use super::race::{AT_ONCE, Call, all_at_once, count, statuses};
use super::totp::{
    PASSWORD, bearer, confirm, enrolled, get, login_with_code, post, signed_in, start_enrollment, totp, unix_now,
    verify, with_consent,
};

fn challenge_of(app: &TestApp, email: &str) -> Answer {
    let answer = app.login(email, PASSWORD, &[]);
    assert_eq!(answer.status, 200, "{answer:?}");
    answer
}

fn verify_with(app: &TestApp, challenge_id: &str, method: &str, code: &str) -> Answer {
    let body = json!({"challenge_id": challenge_id, "method": method, "code": code});
    app.post_json("/v1/login/verify", &body.to_string(), &[])
}

/// A user with an authenticator, and the backup codes its confirmation showed.
pub(super) fn with_backup_codes(app: &TestApp, email: &str) -> (Vec<u8>, String, Vec<String>) {
    let token = signed_in(app, email);
    let (id, secret) = start_enrollment(app, &token, "");
    let confirmed = confirm(app, &token, &id, &totp(&secret, unix_now()));
    assert_eq!(confirmed.status, 200, "{confirmed:?}");
    let codes: Vec<String> =
        confirmed.json()["backup_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
    (secret, token, codes)
}

pub(super) fn wrong_code(secret: &[u8]) -> &'static str {
    let now = unix_now();
    if [now - 30, now, now + 30].iter().any(|t| totp(secret, *t) == "000000") { "111111" } else { "000000" }
}

#[test]
fn backup_codes_are_made_with_the_first_factor_used_once_and_regenerated_with_step_up() {
    for backend in BACKENDS {
        // A lockout far away: the race's nineteen refused uses must not lock the user out of the rest.
        let app = Arc::new(TestApp::migrated(backend, &[("second_factor_lockout", "100/900/60/600/1000")]));
        let (_, token, codes) = with_backup_codes(&app, "backup@example.com");
        assert_eq!(codes.len(), 10, "{backend:?}");
        assert!(codes.iter().all(|c| c.len() == 14 && c.matches('-').count() == 2), "{codes:?}");
        let status = get(&app, &token, "/v1/mfa/backup-codes").json();
        assert_eq!(status, json!({"remaining": 10, "warning": false}), "{backend:?}");

        // A backup code answers a challenge (any case, without dashes), once.
        let challenge = challenge_of(&app, "backup@example.com").json();
        assert!(challenge["methods"].as_array().unwrap().contains(&json!("backup_code")));
        let id = challenge["challenge_id"].as_str().unwrap();
        let typed = codes[0].replace('-', "").to_lowercase();
        let session = verify_with(&app, id, "backup_code", &typed);
        assert_eq!(session.status, 201, "{backend:?}: {session:?}");
        assert_eq!((session.json()["aal"].as_i64(), session.json()["method"].as_str()), (Some(2), Some("backup_code")));
        let again = challenge_of(&app, "backup@example.com").json();
        let reused = verify_with(&app, again["challenge_id"].as_str().unwrap(), "backup_code", &codes[0]);
        assert_eq!((reused.status, reused.error_code().as_str()), (401, "invalid_code"), "{backend:?}");

        // The same code twenty times at once, each on its own challenge: one session.
        let calls: Vec<Call> = (0..AT_ONCE)
            .map(|_| {
                let app = app.clone();
                let code = codes[1].clone();
                let challenge = challenge_of(&app, "backup@example.com").json();
                let id = challenge["challenge_id"].as_str().unwrap().to_owned();
                Box::new(move || verify_with(&app, &id, "backup_code", &code)) as Call
            })
            .collect();
        let answers = all_at_once(calls);
        assert_eq!(count(&answers, 201), 1, "{backend:?}: {:?}", statuses(&answers));
        for loser in answers.iter().filter(|a| a.status != 201) {
            assert!(matches!(loser.error_code().as_str(), "code_already_used" | "invalid_code"), "{loser:?}");
        }

        // Down to 2 left: a warning. (Each login makes a session; at 5 the oldest go: keep the newest.)
        let mut token = token;
        for code in &codes[2..8] {
            let challenge = challenge_of(&app, "backup@example.com").json();
            let session = verify_with(&app, challenge["challenge_id"].as_str().unwrap(), "backup_code", code);
            assert_eq!(session.status, 201, "{backend:?}: {session:?}");
            token = session.json()["token"].as_str().unwrap().to_owned();
        }
        assert_eq!(get(&app, &token, "/v1/mfa/backup-codes").json(), json!({"remaining": 2, "warning": true}));
        assert_eq!(get(&app, &token, "/v1/mfa/factors").json()["backup_codes"]["warning"], true);

        // Regenerating needs step-up, and voids the old set.
        app.age_session(&token, 11 * 60, 0);
        let refused = post(&app, &token, "/v1/mfa/backup-codes", "");
        assert_eq!((refused.status, refused.error_code().as_str()), (403, "step_up_required"), "{backend:?}");
        let stepped =
            post(&app, &token, "/v1/session/step-up", &json!({"method": "backup_code", "code": codes[8]}).to_string());
        assert_eq!(stepped.status, 200, "{backend:?}: {stepped:?}");
        let fresh = stepped.json()["token"].as_str().unwrap().to_owned();
        let renewed = post(&app, &fresh, "/v1/mfa/backup-codes", "");
        assert_eq!(renewed.status, 201, "{backend:?}: {renewed:?}");
        let new_codes = renewed.json()["codes"].as_array().unwrap().len();
        assert_eq!(new_codes, 10);
        let challenge = challenge_of(&app, "backup@example.com").json();
        let old = verify_with(&app, challenge["challenge_id"].as_str().unwrap(), "backup_code", &codes[9]);
        assert_eq!(old.status, 401, "{backend:?}: the old set is void");

        // Only keyed hashes are stored.
        let normalised: Vec<String> = codes.iter().map(|c| c.replace('-', "")).collect();
        for row in app.table_text("backup_codes").into_iter().chain(app.redis_entries()) {
            assert!(normalised.iter().all(|c| !row.contains(c.as_str())), "{backend:?}: a code in the clear");
        }
    }
}

#[test]
fn wrong_codes_lock_second_factor_checks_then_disable_them_until_a_reset() {
    for backend in BACKENDS {
        // 3 failures in 15 minutes lock for 2 s (doubling); 6 in a row disable.
        let app = TestApp::migrated(backend, &[("second_factor_lockout", "3/900/2/60/6")]);
        let (secret, token, backup) = with_backup_codes(&app, "locked@example.com");
        let wrong = wrong_code(&secret);
        let id = challenge_of(&app, "locked@example.com").json()["challenge_id"].as_str().unwrap().to_owned();
        assert_eq!(verify(&app, &id, wrong).status, 401);
        assert_eq!(verify(&app, &id, wrong).status, 401);
        let locked = verify(&app, &id, wrong);
        assert_eq!(
            (locked.status, locked.error_code().as_str()),
            (429, "second_factor_locked"),
            "{backend:?}: {locked:?}"
        );
        assert_eq!(locked.header("retry-after"), Some("2"));
        // While locked even the right code is not looked at.
        let id = challenge_of(&app, "locked@example.com").json()["challenge_id"].as_str().unwrap().to_owned();
        let right = totp(&secret, unix_now() + 30);
        assert_eq!(verify(&app, &id, &right).status, 429, "{backend:?}");
        std::thread::sleep(std::time::Duration::from_millis(2_100));
        assert_eq!(verify(&app, &id, &right).status, 201, "{backend:?}: the lock expired");

        // Six failures in a row (a lock of 4 s, the doubled one, on the way) disable second-factor checks.
        for round in 0..2 {
            let id = challenge_of(&app, "locked@example.com").json()["challenge_id"].as_str().unwrap().to_owned();
            for _ in 0..2 {
                assert_eq!(verify(&app, &id, wrong).status, 401, "{backend:?}");
            }
            let last = verify(&app, &id, wrong);
            if round == 0 {
                assert_eq!(last.header("retry-after"), Some("4"), "{backend:?}: doubled: {last:?}");
                std::thread::sleep(std::time::Duration::from_millis(4_100));
            } else {
                assert_eq!(
                    (last.status, last.error_code().as_str()),
                    (403, "second_factor_disabled"),
                    "{backend:?}: {last:?}"
                );
            }
        }
        let id = challenge_of(&app, "locked@example.com").json()["challenge_id"].as_str().unwrap().to_owned();
        assert_eq!(verify(&app, &id, &totp(&secret, unix_now() + 60)).error_code(), "second_factor_disabled");

        // The product resets it; the user sees every lock.
        let user = get(&app, &token, "/v1/session").json()["session"]["user_id"].as_str().unwrap().to_owned();
        let reset = app.post_with_key(&format!("/v1/service/users/{user}/reset-second-factor"), "");
        assert_eq!((reset.status, reset.json()["reset"].as_bool()), (200, Some(true)), "{backend:?}");
        let after_reset = verify_with(&app, &id, "backup_code", &backup[0]);
        assert_eq!(after_reset.status, 201, "{backend:?}: {after_reset:?}");
        let activity = get(&app, &token, "/v1/activity").json();
        let kinds: Vec<&str> =
            activity["events"].as_array().unwrap().iter().filter_map(|e| e["kind"].as_str()).collect();
        for kind in ["second_factor_failed", "second_factor_locked", "second_factor_disabled", "second_factor_reset"] {
            assert!(kinds.contains(&kind), "{backend:?}: no {kind} in {kinds:?}");
        }
        // The code tried while checks were disabled is refused as such.
        let refused = activity["events"].as_array().unwrap().iter().find(|e| e["kind"] == "second_factor_refused");
        assert_eq!(refused.map(|e| e["detail"]["reason"].clone()), Some("disabled".into()), "{backend:?}: {activity}");
    }
}

#[test]
fn parallel_wrong_codes_are_never_checked_beyond_the_lockout() {
    for backend in BACKENDS {
        let app = Arc::new(TestApp::migrated(backend, &[("second_factor_lockout", "3/900/60/600/100")]));
        let (secret, token) = enrolled(&app, "burst@example.com");
        let wrong = wrong_code(&secret);
        // Four challenges (5 checks each), twenty wrong codes at once: three are looked at, then checks are locked.
        let challenges: Vec<String> = (0..4)
            .map(|_| challenge_of(&app, "burst@example.com").json()["challenge_id"].as_str().unwrap().to_owned())
            .collect();
        let calls: Vec<Call> = (0..AT_ONCE)
            .map(|i| {
                let (app, id) = (app.clone(), challenges[i % 4].clone());
                Box::new(move || verify(&app, &id, wrong)) as Call
            })
            .collect();
        let answers = all_at_once(calls);
        let statuses = statuses(&answers);
        assert!(statuses.iter().all(|s| [401, 429].contains(s)), "{backend:?}: {statuses:?}");
        // Of the three looked at, the third locked the checks (and says so: 429); every other was refused unseen.
        assert_eq!(count(&answers, 401), 2, "{backend:?}: {statuses:?}");
        let activity = get(&app, &token, "/v1/activity").json();
        let failed =
            activity["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "second_factor_failed").count();
        assert_eq!(failed, 3, "{backend:?}: {statuses:?}");
    }
}

#[test]
fn step_up_renews_the_token_and_auth_time_with_a_factor_or_the_password() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend);
        // Without a second factor: the password.
        let token = signed_in(&app, "plain@example.com");
        app.age_session(&token, 11 * 60, 0);
        let before = get(&app, &token, "/v1/session").json()["session"]["auth_time"].as_i64().unwrap();
        let wrong = post(&app, &token, "/v1/session/step-up", r#"{"method": "password", "password": "nope"}"#);
        assert_eq!((wrong.status, wrong.error_code().as_str()), (401, "invalid_credentials"), "{backend:?}");
        let body = json!({"method": "password", "password": PASSWORD}).to_string();
        let stepped = post(&app, &token, "/v1/session/step-up", &body);
        assert_eq!(stepped.status, 200, "{backend:?}: {stepped:?}");
        let fresh = stepped.json();
        assert!(fresh["auth_time"].as_i64().unwrap() >= before + 600, "{backend:?}: {fresh}");
        assert_eq!(get(&app, &token, "/v1/session").status, 401, "{backend:?}: the old token is gone");
        assert_eq!(get(&app, fresh["token"].as_str().unwrap(), "/v1/session").status, 200);

        // With one: a code, never the password; aal 2 afterwards.
        let (secret, token) = enrolled(&app, "strong@example.com");
        app.age_session(&token, 11 * 60, 0);
        let password =
            post(&app, &token, "/v1/session/step-up", &json!({"method": "password", "password": PASSWORD}).to_string());
        assert_eq!(password.error_code(), "second_factor_required", "{backend:?}");
        let code = totp(&secret, unix_now() + 30);
        let stepped = post(&app, &token, "/v1/session/step-up", &json!({"method": "totp", "code": code}).to_string());
        assert_eq!(stepped.status, 200, "{backend:?}: {stepped:?}");
        assert_eq!((stepped.json()["aal"].as_i64(), stepped.json()["method"].as_str()), (Some(2), Some("totp")));
        let added =
            post(&app, stepped.json()["token"].as_str().unwrap(), "/v1/mfa/totp", &with_consent(&app, "totp", ""));
        assert_eq!(added.status, 201, "{backend:?}: step-up granted: {added:?}");
    }
}

#[test]
fn a_trusted_device_skips_the_second_factor_until_the_password_or_factors_change() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend);
        let (secret, token, backup) = with_backup_codes(&app, "trust@example.com");
        let first = challenge_of(&app, "trust@example.com");
        let (device, _) = first.set_cookie("__Host-mfa_device").expect("a device cookie");
        let cookie = format!("__Host-mfa_device={device}");
        let id = first.json()["challenge_id"].as_str().unwrap().to_owned();
        let code = totp(&secret, unix_now() + 30);
        let body = json!({"challenge_id": id, "method": "totp", "code": code, "remember_device": true}).to_string();
        let verified = app.post_json("/v1/login/verify", &body, &[("cookie", &cookie)]);
        assert_eq!(verified.status, 201, "{backend:?}: {verified:?}");

        // From that browser the password is enough; from another, a challenge.
        let skipped = app.login("trust@example.com", PASSWORD, &[("cookie", &cookie)]);
        assert_eq!(skipped.status, 201, "{backend:?}: {skipped:?}");
        assert_eq!(
            (skipped.json()["aal"].as_i64(), skipped.json()["method"].as_str()),
            (Some(2), Some("trusted_device"))
        );
        // Skipping the second factor is not a re-verification: sensitive changes still need a step-up.
        let skipped_token = skipped.json()["token"].as_str().unwrap().to_owned();
        let sensitive = post(&app, &skipped_token, "/v1/mfa/backup-codes", "");
        assert_eq!((sensitive.status, sensitive.error_code().as_str()), (403, "step_up_required"), "{backend:?}");
        assert_eq!(app.login("trust@example.com", PASSWORD, &[]).status, 200, "{backend:?}");
        let listed =
            app.request("GET", "/v1/trusted-devices", &[("authorization", &bearer(&token)), ("cookie", &cookie)], "");
        let devices = listed.json()["trusted_devices"].as_array().unwrap().clone();
        assert_eq!((devices.len(), devices[0]["current"].as_bool()), (1, Some(true)), "{backend:?}: {devices:?}");

        // Changing the password voids it.
        let change = json!({"current_password": PASSWORD, "new_password": "another correct horse battery"}).to_string();
        let fresh = skipped.json()["token"].as_str().unwrap().to_owned();
        assert_eq!(post(&app, &fresh, "/v1/password", &change).status, 200, "{backend:?}");
        let challenged = app.post_json(
            "/v1/login",
            &super::app::credentials("trust@example.com", "another correct horse battery"),
            &[("cookie", &cookie)],
        );
        assert_eq!(challenged.status, 200, "{backend:?}: trusted no more: {challenged:?}");

        // Trust again, then revoke it by hand.
        let id = challenged.json()["challenge_id"].as_str().unwrap().to_owned();
        let body = json!({"challenge_id": id, "method": "backup_code", "code": backup[0], "remember_device": true});
        let again = app.post_json("/v1/login/verify", &body.to_string(), &[("cookie", &cookie)]);
        assert_eq!(again.status, 201, "{backend:?}: {again:?}");
        let session = again.json()["token"].as_str().unwrap().to_owned();
        let listed = get(&app, &session, "/v1/trusted-devices").json();
        let device_id = listed["trusted_devices"][0]["id"].as_str().unwrap().to_owned();
        let revoked = app.request(
            "DELETE",
            &format!("/v1/trusted-devices/{device_id}"),
            &[("authorization", &bearer(&session))],
            "",
        );
        assert_eq!(revoked.status, 200, "{backend:?}");
        let login = app.post_json(
            "/v1/login",
            &super::app::credentials("trust@example.com", "another correct horse battery"),
            &[("cookie", &cookie)],
        );
        assert_eq!(login.status, 200, "{backend:?}: challenged again");

        // Trusted once more, then a factor is added: void again.
        let id = login.json()["challenge_id"].as_str().unwrap().to_owned();
        let body = json!({"challenge_id": id, "method": "backup_code", "code": backup[1], "remember_device": true});
        let trusted = app.post_json("/v1/login/verify", &body.to_string(), &[("cookie", &cookie)]);
        assert_eq!(trusted.status, 201, "{backend:?}: {trusted:?}");
        let session = trusted.json()["token"].as_str().unwrap().to_owned();
        assert_eq!(get(&app, &session, "/v1/trusted-devices").json()["trusted_devices"].as_array().unwrap().len(), 1);
        let (id, second) = start_enrollment(&app, &session, "");
        assert_eq!(confirm(&app, &session, &id, &totp(&second, unix_now())).status, 200, "{backend:?}");
        assert!(get(&app, &session, "/v1/trusted-devices").json()["trusted_devices"].as_array().unwrap().is_empty());
        let login = app.post_json(
            "/v1/login",
            &super::app::credentials("trust@example.com", "another correct horse battery"),
            &[("cookie", &cookie)],
        );
        assert_eq!(login.status, 200, "{backend:?}: a factor was added: challenged");
    }
}

#[test]
fn removing_a_factor_ends_the_sessions_established_with_it() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend);
        let (secret, password_session, backup) = with_backup_codes(&app, "removed@example.com");
        let with_factor = login_with_code(&app, "removed@example.com", &totp(&secret, unix_now() + 30));
        let challenge = challenge_of(&app, "removed@example.com").json();
        let acting = verify_with(&app, challenge["challenge_id"].as_str().unwrap(), "backup_code", &backup[0]);
        let acting = acting.json()["token"].as_str().unwrap().to_owned();
        let factors = get(&app, &acting, "/v1/mfa/factors").json();
        let id = factors["factors"][0]["id"].as_str().unwrap().to_owned();
        let removed = app.request("DELETE", &format!("/v1/mfa/totp/{id}"), &[("authorization", &bearer(&acting))], "");
        assert_eq!(removed.status, 200, "{backend:?}: {removed:?}");
        assert_eq!(get(&app, &with_factor, "/v1/session").status, 401, "{backend:?}: established with it");
        assert_eq!(get(&app, &acting, "/v1/session").status, 200, "{backend:?}: the acting session stays");
        assert_eq!(get(&app, &password_session, "/v1/session").status, 200, "{backend:?}: password only");
        // The last factor gone, so are the backup codes; login is the password again.
        assert_eq!(get(&app, &acting, "/v1/mfa/backup-codes").json()["remaining"], 0);
        assert_eq!(app.login("removed@example.com", PASSWORD, &[]).status, 201, "{backend:?}");
    }
}

#[test]
fn the_service_api_starts_a_challenge_for_a_user_it_authenticated() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend);
        let (secret, token) = enrolled(&app, "product@example.com");
        let user = get(&app, &token, "/v1/session").json()["session"]["user_id"].as_str().unwrap().to_owned();
        let started = app.post_with_key(&format!("/v1/service/users/{user}/challenge"), "");
        assert_eq!(started.status, 200, "{backend:?}: {started:?}");
        let id = started.json()["challenge_id"].as_str().unwrap().to_owned();
        let session = verify(&app, &id, &totp(&secret, unix_now() + 30));
        assert_eq!((session.status, session.json()["aal"].as_i64()), (201, Some(2)), "{backend:?}");
        // Without the key, or for a user without a factor, or an unknown one: refused.
        let no_key = app.post_json(&format!("/v1/service/users/{user}/challenge"), "", &[]);
        assert_eq!(no_key.status, 401, "{backend:?}");
        let plain = signed_in(&app, "nofactor@example.com");
        let plain_user = get(&app, &plain, "/v1/session").json()["session"]["user_id"].as_str().unwrap().to_owned();
        let none = app.post_with_key(&format!("/v1/service/users/{plain_user}/challenge"), "");
        assert_eq!((none.status, none.error_code().as_str()), (409, "no_second_factor"), "{backend:?}");
        assert_eq!(app.post_with_key("/v1/service/users/nobody/challenge", "").status, 404);
    }
}
