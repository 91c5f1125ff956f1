//! The service API for a product backend, on both backends.

use super::TestApp;
use super::app::BACKENDS;

const PASSWORD: &str = "correct horse battery staple";

#[test]
fn introspection_needs_the_key_and_follows_the_session() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend);
        let credentials = format!(r#"{{"email": "svc@example.com", "password": "{PASSWORD}"}}"#);
        let json = [("content-type", "application/json")];
        assert_eq!(app.request("POST", "/v1/register", &json, &credentials).status, 201);
        let login = app.request("POST", "/v1/login", &json, &credentials).json();
        let token = login["token"].as_str().unwrap().to_owned();
        let body = format!(r#"{{"token": "{token}"}}"#);

        // Without the key, or with a wrong one: 401, and nothing about the token.
        let anonymous = app.request("POST", "/v1/introspect", &json, &body);
        assert_eq!((anonymous.status, anonymous.error_code().as_str()), (401, "unauthorized"), "{backend:?}");
        let wrong = app.request(
            "POST",
            "/v1/introspect",
            &[("content-type", "application/json"), ("authorization", "Bearer nope")],
            &body,
        );
        assert_eq!(wrong.status, 401);

        let active = app.post_with_key("/v1/introspect", &body);
        assert_eq!(active.status, 200, "{backend:?}: {active:?}");
        let claims = active.json();
        assert_eq!(claims["active"], true);
        assert_eq!(claims["sub"], login["user_id"]);
        assert_eq!(claims["sid"], login["id"]);
        assert_eq!(claims["aal"], 1);
        assert_eq!(claims["iat"], login["created_at"]);
        assert_eq!(claims["auth_time"], login["auth_time"]);
        assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());
        // RFC 7662's own request form gives the same answer; a malformed form is refused like malformed JSON.
        let form = "application/x-www-form-urlencoded";
        let hinted = format!("token={token}&token_type_hint=access_token");
        let by_form = app.post_with_key_as("/v1/introspect", form, &hinted);
        assert_eq!(by_form.json(), claims, "{backend:?}: {by_form:?}");
        let twice = app.post_with_key_as("/v1/introspect", form, &format!("token={token}&token=other"));
        assert_eq!((twice.status, twice.error_code().as_str()), (400, "invalid_field"), "{backend:?}");
        let plain = app.post_with_key_as("/v1/introspect", "text/plain", &format!("token={token}"));
        assert_eq!(plain.status, 415, "{backend:?}");

        // Unknown, malformed and logged-out tokens: only {"active": false}.
        for token in ["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "not a token"] {
            let answer = app.post_with_key("/v1/introspect", &format!(r#"{{"token": "{token}"}}"#));
            assert_eq!(answer.json(), serde_json::json!({"active": false}), "{backend:?}");
        }
        let bearer = format!("Bearer {token}");
        assert_eq!(app.request("DELETE", "/v1/session", &[("authorization", &bearer)], "").status, 200);
        assert_eq!(app.post_with_key("/v1/introspect", &body).json(), serde_json::json!({"active": false}));
        let gone = app.post_with_key_as("/v1/introspect", form, &format!("token={token}"));
        assert_eq!(gone.json(), serde_json::json!({"active": false}), "{backend:?}");
    }
}

#[test]
fn the_product_backend_finds_or_creates_users_and_revokes_their_sessions() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend);
        let body = r#"{"external_id": "product-user-42", "email": "Pat@Example.com"}"#;
        let anonymous = app.post_json("/v1/service/users", body, &[]);
        assert_eq!(anonymous.status, 401, "{backend:?}");
        let created = app.post_with_key("/v1/service/users", body);
        assert_eq!(created.status, 201, "{backend:?}: {created:?}");
        let user = created.json()["user"].clone();
        assert_eq!(
            (user["external_id"].as_str(), user["email"].as_str()),
            (Some("product-user-42"), Some("pat@example.com"))
        );
        // Found, not created again (also when asked without the email).
        let found = app.post_with_key("/v1/service/users", r#"{"external_id": "product-user-42"}"#);
        assert_eq!((found.status, found.json()["user"]["id"].clone()), (200, user["id"].clone()), "{backend:?}");
        assert_eq!(found.json()["created"], false);
        // Another external id cannot take the same email; bad ids are refused.
        let taken = app.post_with_key("/v1/service/users", r#"{"external_id": "other", "email": "pat@example.com"}"#);
        assert_eq!((taken.status, taken.error_code().as_str()), (409, "email_taken"), "{backend:?}");
        let blank = app.post_with_key("/v1/service/users", r#"{"external_id": " "}"#);
        assert_eq!((blank.status, blank.error_code().as_str()), (400, "invalid_external_id"));
        // A user created here has no password: nobody can log in as them with one.
        assert_eq!(app.login("pat@example.com", PASSWORD, &[]).status, 401, "{backend:?}");

        let id = user["id"].as_str().unwrap();
        let key = format!("Bearer {}", app.api_key);
        let shown = app.request("GET", &format!("/v1/service/users/{id}"), &[("authorization", &key)], "");
        assert_eq!((shown.status, shown.json()["user"].clone()), (200, user.clone()), "{backend:?}");
        let missing = app.request("GET", "/v1/service/users/nope", &[("authorization", &key)], "");
        assert_eq!((missing.status, missing.error_code().as_str()), (404, "user_not_found"));

        // Revoking a user's sessions: every token of theirs dies, nobody else's.
        assert_eq!(app.register("sam@example.com", PASSWORD).status, 201);
        assert_eq!(app.register("kim@example.com", PASSWORD).status, 201);
        let sam: Vec<serde_json::Value> = (0..2).map(|_| app.login("sam@example.com", PASSWORD, &[]).json()).collect();
        let kim = app.login("kim@example.com", PASSWORD, &[]).json();
        let sam_id = sam[0]["user_id"].as_str().unwrap();
        let revoked = app.post_with_key(&format!("/v1/service/users/{sam_id}/revoke-sessions"), "");
        assert_eq!(revoked.status, 200, "{backend:?}: {revoked:?}");
        assert_eq!(revoked.json()["revoked"].as_array().unwrap().len(), 2);
        let status = |login: &serde_json::Value| {
            let auth = format!("Bearer {}", login["token"].as_str().unwrap());
            app.request("GET", "/v1/session", &[("authorization", &auth)], "").status
        };
        assert_eq!((status(&sam[0]), status(&sam[1]), status(&kim)), (401, 401, 200), "{backend:?}");
        let unknown = app.post_with_key("/v1/service/users/nope/revoke-sessions", "");
        assert_eq!(unknown.status, 404);
    }
}

#[test]
fn the_product_backend_links_unlinks_and_finds_accounts() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend);
        assert_eq!(app.register("lee@example.com", PASSWORD).status, 201);
        let login = app.login("lee@example.com", PASSWORD, &[]).json();
        let id = login["user_id"].as_str().unwrap().to_owned();
        let link = format!("/v1/service/users/{id}/external-id");

        // Found by email (normalised, percent-encoded in the path), not by an id nobody has.
        let by_email = app.with_key("GET", "/v1/service/users/by-email/Lee%40Example.com", "");
        assert_eq!((by_email.status, by_email.json()["user"]["id"].as_str()), (200, Some(id.as_str())), "{backend:?}");
        assert_eq!(by_email.json()["user"]["external_id"], serde_json::Value::Null);
        let nobody = app.with_key("GET", "/v1/service/users/by-external-id/crm%2F1", "");
        assert_eq!((nobody.status, nobody.error_code().as_str()), (404, "user_not_found"), "{backend:?}");
        let malformed = app.with_key("GET", "/v1/service/users/by-email/not-an-email", "");
        assert_eq!((malformed.status, malformed.error_code().as_str()), (400, "invalid_email"), "{backend:?}");
        assert_eq!(app.request("GET", "/v1/service/users/by-external-id/crm%2F1", &[], "").status, 401);

        // Linked: found by the product's id, the same answer twice; another user cannot take it.
        let linked = app.with_key("PUT", &link, r#"{"external_id": " crm/1 "}"#);
        assert_eq!((linked.status, linked.json()["user"]["external_id"].as_str()), (200, Some("crm/1")), "{backend:?}");
        assert_eq!(app.with_key("PUT", &link, r#"{"external_id": "crm/1"}"#).json(), linked.json());
        let found = app.with_key("GET", "/v1/service/users/by-external-id/crm%2F1", "");
        assert_eq!(found.json()["user"], linked.json()["user"], "{backend:?}");
        let other =
            app.with_key("POST", "/v1/service/users", r#"{"external_id": "crm-2"}"#).json()["user"]["id"].clone();
        let other_link = format!("/v1/service/users/{}/external-id", other.as_str().unwrap());
        let taken = app.with_key("PUT", &other_link, r#"{"external_id": "crm/1"}"#);
        assert_eq!((taken.status, taken.error_code().as_str()), (409, "external_id_taken"), "{backend:?}");
        let blank = app.with_key("PUT", &link, r#"{"external_id": ""}"#);
        assert_eq!((blank.status, blank.error_code().as_str()), (400, "invalid_external_id"));
        let unknown = app.with_key("PUT", "/v1/service/users/nope/external-id", r#"{"external_id": "crm-9"}"#);
        assert_eq!(unknown.status, 404);

        // A user the product created has no password: unlinking would leave nothing to sign in with.
        let orphan = app.with_key("DELETE", &other_link, "");
        assert_eq!((orphan.status, orphan.error_code().as_str()), (409, "external_id_required"), "{backend:?}");

        // Unlinked: no longer found by the product's id; the user saw both changes.
        let unlinked = app.with_key("DELETE", &link, "");
        assert_eq!((unlinked.status, unlinked.json()["user"]["external_id"].clone()), (200, serde_json::Value::Null));
        assert_eq!(app.with_key("GET", "/v1/service/users/by-external-id/crm%2F1", "").status, 404, "{backend:?}");
        assert_eq!(app.with_key("DELETE", &link, "").status, 200, "unlinking an unlinked user changes nothing");
        let bearer = format!("Bearer {}", login["token"].as_str().unwrap());
        let activity = app.request("GET", "/v1/activity", &[("authorization", &bearer)], "").json();
        let kinds: Vec<&str> =
            activity["events"].as_array().unwrap().iter().filter_map(|event| event["kind"].as_str()).collect();
        assert_eq!(&kinds[..2], ["external_id_unlinked", "external_id_linked"], "{backend:?}: {kinds:?}");
    }
}

#[test]
fn the_products_support_staff_see_a_users_factors_and_sessions_and_end_one() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend);
        let key = format!("Bearer {}", app.api_key);
        let with_key = |method: &str, path: &str| app.request(method, path, &[("authorization", &key)], "");
        let (_, token) = super::totp::enrolled(&app, "help@example.com");
        let bearer = format!("Bearer {token}");
        let own = app.request("GET", "/v1/session", &[("authorization", &bearer)], "").json()["session"].clone();
        let id = own["user_id"].as_str().unwrap().to_owned();

        // What the user sees of their factors, the support staff see too (never a secret).
        let factors = with_key("GET", &format!("/v1/service/users/{id}/factors"));
        assert_eq!(factors.status, 200, "{backend:?}: {factors:?}");
        let mine = app.request("GET", "/v1/mfa/factors", &[("authorization", &bearer)], "");
        assert_eq!(factors.json(), mine.json(), "{backend:?}");
        assert_eq!(factors.json()["factors"].as_array().map(Vec::len), Some(1));
        assert!(!factors.body.contains("secret"), "{}", factors.body);

        // The sessions as the user lists them; one ended by id, the user told why; other ids are 404.
        let sessions = with_key("GET", &format!("/v1/service/users/{id}/sessions"));
        assert_eq!(sessions.status, 200, "{backend:?}: {sessions:?}");
        let listed = sessions.json()["sessions"].as_array().unwrap().clone();
        assert_eq!(listed.len(), 1, "{backend:?}: {listed:?}");
        assert_eq!(
            (listed[0]["id"].clone(), listed[0]["user_agent"].clone()),
            (own["id"].clone(), own["user_agent"].clone())
        );
        assert_eq!(with_key("DELETE", &format!("/v1/service/users/{id}/sessions/nope")).status, 404);
        let revoked = with_key("DELETE", &format!("/v1/service/users/{id}/sessions/{}", own["id"].as_str().unwrap()));
        assert_eq!((revoked.status, revoked.json()["revoked"].clone()), (200, serde_json::json!([own["id"]])));
        assert_eq!(app.request("GET", "/v1/session", &[("authorization", &bearer)], "").status, 401, "{backend:?}");
        assert_eq!(
            with_key("GET", &format!("/v1/service/users/{id}/sessions")).json()["sessions"],
            serde_json::json!([])
        );
        let reasons = app
            .rows(&format!("SELECT detail FROM security_events WHERE user_id = '{id}' AND kind = 'session_revoked'"));
        assert!(reasons.iter().any(|row| row[0].as_deref().is_some_and(|d| d.contains("service_api"))), "{reasons:?}");

        // Unknown users, and callers without the key.
        assert_eq!(with_key("GET", "/v1/service/users/nope/factors").status, 404);
        assert_eq!(with_key("GET", "/v1/service/users/nope/sessions").status, 404);
        assert_eq!(app.request("GET", &format!("/v1/service/users/{id}/factors"), &[], "").status, 401);
    }
}

#[test]
fn the_product_signs_in_a_user_it_authenticated_itself_as_a_password_login_would() {
    use super::totp::{confirm, start_enrollment, totp, unix_now};
    for backend in BACKENDS {
        let app = TestApp::spawn(backend);
        let key = format!("Bearer {}", app.api_key);
        let sign_in = |id: &str, body: &str| {
            let path = format!("/v1/service/users/{id}/sessions");
            app.request("POST", &path, &[("authorization", &key), ("content-type", "application/json")], body)
        };
        let created = app.post_with_key("/v1/service/users", r#"{"external_id": "crm-sso-1"}"#).json();
        let id = created["user"]["id"].as_str().unwrap().to_owned();
        let client = r#"{"ip": "203.0.113.5", "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"}"#;

        // Without a second factor: a session for the end user's address and browser, and a device id to keep.
        let first = sign_in(&id, client);
        assert_eq!(first.status, 201, "{backend:?}: {first:?}");
        let session = first.json();
        assert_eq!((session["aal"].as_i64(), session["method"].as_str()), (Some(1), Some("external")), "{session}");
        assert_eq!(
            (session["ip"].as_str(), session["device_label"].as_str()),
            (Some("203.0.113.5"), Some("Firefox on Linux"))
        );
        assert!(first.set_cookie("__Host-mfa_session").is_none(), "the product sets its own cookie");
        let device_id = session["device_id"].as_str().unwrap().to_owned();
        let token = session["token"].as_str().unwrap().to_owned();
        let bearer = format!("Bearer {token}");
        assert_eq!(app.request("GET", "/v1/session", &[("authorization", &bearer)], "").status, 200);
        let activity = app.request("GET", "/v1/activity", &[("authorization", &bearer)], "").json();
        let created_event =
            activity["events"].as_array().unwrap().iter().find(|e| e["kind"] == "session_created").cloned();
        assert_eq!(created_event.map(|e| e["ip"].clone()), Some(serde_json::json!("203.0.113.5")), "{activity}");

        // The session may add a first factor at once (it has just authenticated); then a sign-in is a challenge.
        let (enrollment, secret) = start_enrollment(&app, &token, "");
        assert_eq!(confirm(&app, &token, &enrollment, &totp(&secret, unix_now())).status, 200, "{backend:?}");
        let known = serde_json::json!({"ip": "203.0.113.5", "device_id": device_id}).to_string();
        let challenged = sign_in(&id, &known);
        assert_eq!(
            (challenged.status, challenged.json()["mfa_required"].as_bool()),
            (200, Some(true)),
            "{challenged:?}"
        );
        assert_eq!(challenged.json()["device_id"].as_str(), Some(device_id.as_str()), "a known device keeps its id");
        let verify = serde_json::json!({
            "challenge_id": challenged.json()["challenge_id"],
            "method": "totp",
            "code": totp(&secret, unix_now() + 30),
            "remember_device": true,
        });
        let verified = app.post_json("/v1/login/verify", &verify.to_string(), &[]);
        assert_eq!((verified.status, verified.json()["aal"].as_i64()), (201, Some(2)), "{backend:?}: {verified:?}");
        // The device it was remembered for skips the second factor; a device id nobody issued does not.
        let trusted = sign_in(&id, &known);
        assert_eq!((trusted.status, trusted.json()["method"].as_str()), (201, Some("trusted_device")), "{trusted:?}");
        let planted = sign_in(&id, r#"{"device_id": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}"#);
        assert_eq!(planted.status, 200, "{backend:?}: {planted:?}");
        assert_ne!(planted.json()["device_id"].as_str(), Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));

        // Refusals: a bad address, an unknown field, an unknown user, no key.
        let bad_ip = sign_in(&id, r#"{"ip": "not an address"}"#);
        assert_eq!((bad_ip.status, bad_ip.error_code().as_str()), (400, "invalid_field"), "{backend:?}");
        assert_eq!(sign_in(&id, r#"{"password": "x"}"#).status, 400);
        assert_eq!(sign_in("nope", "").status, 404);
        assert_eq!(app.request("POST", &format!("/v1/service/users/{id}/sessions"), &[], "").status, 401);
    }
}
