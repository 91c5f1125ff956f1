//! MFA enforcement (`mfa_enforcement = "required"`): within the grace period a user without a second factor has full
//! use; past it their sign-in gives a restricted session that may only enroll one, until they do; the service API
//! reports adoption. On both backends.

use serde_json::{Value, json};

use super::TestApp;
use super::app::BACKENDS;
use super::totp::{PASSWORD, bearer, confirm, get, post, start_enrollment, totp, unix_now, verify};

/// Days and the UTC date `YYYY-MM-DD` of Unix time `unix` (the civil calendar, written here for the test).
fn utc_date(unix: u64) -> String {
    let days = i64::try_from(unix / 86_400).unwrap() + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

fn stats(app: &TestApp) -> Value {
    let answer = app.request("GET", "/v1/service/stats", &[("authorization", &format!("Bearer {}", app.api_key))], "");
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.json()
}

fn introspect(app: &TestApp, token: &str) -> Value {
    app.post_with_key("/v1/introspect", &json!({"token": token}).to_string()).json()
}

#[test]
fn past_the_grace_period_a_user_without_a_factor_may_only_enroll_one_then_has_full_use() {
    assert_eq!(utc_date(0), "1970-01-01");
    assert_eq!(utc_date(951_868_800), "2000-03-01");
    for backend in BACKENDS {
        let app = TestApp::migrated(backend, &[("mfa_enforcement", "required"), ("mfa_grace_days", "0")]);
        assert_eq!(app.register("late@example.com", PASSWORD).status, 201);
        let login = app.login("late@example.com", PASSWORD, &[]);
        assert_eq!(login.status, 201, "{backend:?}: {login:?}");
        let restricted = login.json();
        assert_eq!(
            (restricted["aal"].as_i64(), restricted["mfa_enrollment_required"].as_bool()),
            (Some(0), Some(true))
        );
        let token = restricted["token"].as_str().unwrap().to_owned();
        let other = app.login("late@example.com", PASSWORD, &[]).json()["token"].as_str().unwrap().to_owned();

        // It reads its status, lists factors and steps up with the password (staying restricted); nothing else.
        let status = get(&app, &token, "/v1/session");
        assert_eq!(status.json()["mfa_enrollment"], json!({"status": "required", "deadline": null}), "{status:?}");
        assert_eq!(get(&app, &token, "/v1/mfa/factors").status, 200);
        for path in
            ["/v1/sessions", "/v1/activity", "/v1/trusted-devices", "/v1/account/export", "/v1/mfa/backup-codes"]
        {
            let refused = get(&app, &token, path);
            assert_eq!((refused.status, refused.error_code().as_str()), (403, "mfa_enrollment_required"), "{path}");
        }
        let revoke = post(&app, &token, "/v1/sessions/revoke-all", "");
        assert_eq!((revoke.status, revoke.error_code().as_str()), (403, "mfa_enrollment_required"), "{backend:?}");
        assert_eq!(get(&app, &other, "/v1/session").status, 200, "a refused request ended nothing");
        let stepped =
            post(&app, &token, "/v1/session/step-up", &json!({"method": "password", "password": PASSWORD}).to_string());
        assert_eq!((stepped.status, stepped.json()["aal"].as_i64()), (200, Some(0)), "{backend:?}: {stepped:?}");
        let token = stepped.json()["token"].as_str().unwrap().to_owned();
        // To the product it is not signed in, and it learns why.
        assert_eq!(introspect(&app, &token), json!({"active": false, "mfa_enrollment_required": true}));

        // Enrolling: the confirmation answers the session with a new token and full use; the other restricted
        // session, which never proved the factor, ends.
        let (enrollment, secret) = start_enrollment(&app, &token, "");
        let confirmed = confirm(&app, &token, &enrollment, &totp(&secret, unix_now()));
        assert_eq!(confirmed.status, 200, "{backend:?}: {confirmed:?}");
        let session = confirmed.json()["session"].clone();
        assert_eq!((session["aal"].as_i64(), session["mfa_enrollment_required"].as_bool()), (Some(1), Some(false)));
        assert!(confirmed.set_cookie("__Host-mfa_session").is_some(), "{confirmed:?}");
        assert_eq!(confirmed.json()["backup_codes"].as_array().map(Vec::len), Some(10));
        let full = session["token"].as_str().unwrap().to_owned();
        assert_eq!((get(&app, &token, "/v1/session").status, get(&app, &other, "/v1/session").status), (401, 401));
        assert_eq!(get(&app, &full, "/v1/sessions").status, 200, "{backend:?}");
        assert_eq!(get(&app, &full, "/v1/session").json()["mfa_enrollment"]["status"], "satisfied");
        assert_eq!(
            (introspect(&app, &full)["active"].as_bool(), introspect(&app, &full)["aal"].as_i64()),
            (Some(true), Some(1))
        );
        // From now on the password gives a challenge, as for any user with a factor.
        let challenge = app.login("late@example.com", PASSWORD, &[]).json();
        let verified = verify(&app, challenge["challenge_id"].as_str().unwrap(), &totp(&secret, unix_now() + 30));
        assert_eq!((verified.status, verified.json()["aal"].as_i64()), (201, Some(2)), "{backend:?}: {verified:?}");

        // The product's own sign-in is restricted the same way.
        let created = app.post_with_key("/v1/service/users", r#"{"external_id": "crm-late"}"#).json();
        let path = format!("/v1/service/users/{}/sessions", created["user"]["id"].as_str().unwrap());
        let product = app.post_with_key(&path, "").json();
        assert_eq!((product["aal"].as_i64(), product["mfa_enrollment_required"].as_bool()), (Some(0), Some(true)));
        let product_token = product["token"].as_str().unwrap();
        assert_eq!(introspect(&app, product_token)["active"], false, "{backend:?}");
        let refused = app.request("GET", "/v1/activity", &[("authorization", &bearer(product_token))], "");
        assert_eq!(refused.error_code(), "mfa_enrollment_required");

        let counted = stats(&app);
        assert_eq!(
            counted,
            json!({"users": 2, "with_second_factor": 1, "adoption_share": 0.5, "mfa_enforcement": "required",
                   "grace_days": 0, "in_grace": 0, "past_grace": 1}),
            "{backend:?}"
        );
    }
}

#[test]
fn within_the_grace_period_sessions_have_full_use_and_show_the_deadline() {
    for backend in BACKENDS {
        let app = TestApp::migrated(backend, &[("mfa_enforcement", "required"), ("mfa_grace_days", "30")]);
        assert_eq!(app.register("new@example.com", PASSWORD).status, 201);
        assert_eq!(app.register("old@example.com", PASSWORD).status, 201);
        let fresh = app.login("new@example.com", PASSWORD, &[]).json();
        assert_eq!((fresh["aal"].as_i64(), fresh["mfa_enrollment_required"].as_bool()), (Some(1), Some(false)));
        let token = fresh["token"].as_str().unwrap().to_owned();
        let enrollment = get(&app, &token, "/v1/session").json()["mfa_enrollment"].clone();
        let created: i64 = app.rows("SELECT CAST(created_at AS TEXT) FROM users WHERE email = 'new@example.com'")[0][0]
            .as_deref()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(enrollment, json!({"status": "in_grace", "deadline": created + 30 * 86_400}), "{backend:?}");
        assert_eq!(get(&app, &token, "/v1/sessions").status, 200);

        // An account 31 days old is past it: restricted at its next sign-in. A session from within the grace
        // period keeps full use until it ends, and its status now says a factor is required.
        let old = app.login("old@example.com", PASSWORD, &[]).json()["token"].as_str().unwrap().to_owned();
        let month_ago = i64::try_from(unix_now()).unwrap() - 31 * 86_400;
        app.execute(&format!("UPDATE users SET created_at = {month_ago} WHERE email = 'old@example.com'"));
        let late = app.login("old@example.com", PASSWORD, &[]).json();
        assert_eq!(late["aal"].as_i64(), Some(0), "{backend:?}: {late}");
        assert_eq!(get(&app, &old, "/v1/sessions").status, 200, "{backend:?}");
        assert_eq!(get(&app, &old, "/v1/session").json()["mfa_enrollment"]["status"], "required");
        assert_eq!(
            (
                stats(&app)["in_grace"].as_i64(),
                stats(&app)["past_grace"].as_i64(),
                stats(&app)["adoption_share"].as_f64()
            ),
            (Some(1), Some(1), Some(0.0))
        );

        // Counted from the requirement's start when that is later: the old account is in grace again.
        let today = utc_date(unix_now());
        let since = app.sibling(&[("mfa_required_since", &today)]);
        assert_eq!(since.login("old@example.com", PASSWORD, &[]).json()["aal"].as_i64(), Some(1), "{backend:?}");
        assert_eq!((stats(&since)["in_grace"].as_i64(), stats(&since)["past_grace"].as_i64()), (Some(2), Some(0)));

        // Optional (the default): nobody is asked, nobody counted as in grace.
        let optional = app.sibling(&[("mfa_enforcement", "optional")]);
        assert_eq!(optional.login("old@example.com", PASSWORD, &[]).json()["aal"].as_i64(), Some(1));
        assert_eq!(
            stats(&optional),
            json!({"users": 2, "with_second_factor": 0, "adoption_share": 0.0, "mfa_enforcement": "optional",
                   "grace_days": 30, "in_grace": 0, "past_grace": 0})
        );

        // A policy that cannot be used is refused clearly, not guessed at.
        let broken = app.sibling(&[("mfa_grace_days", "400")]);
        let refused = broken.login("new@example.com", PASSWORD, &[]);
        assert_eq!((refused.status, refused.error_code().as_str()), (500, "misconfigured"), "{backend:?}: {refused:?}");
        let unready = broken.get("/readyz");
        assert_eq!(unready.status, 503, "{backend:?}: {unready:?}");
        assert!(unready.body.contains("mfa_grace_days is 400"), "{}", unready.body);
        let bad_date = app.sibling(&[("mfa_required_since", "2026-02-30")]);
        assert_eq!(bad_date.login("new@example.com", PASSWORD, &[]).status, 500);
        assert!(bad_date.get("/readyz").body.contains("mfa_required_since"), "{backend:?}");
    }
}
