//! The user's own data end to end, on both backends: the export (step-up first; everything held, no secret) and
//! the erasure (step-up first; every session ended, every row gone, the event chain still verifiable).

use serde_json::json;
use sha2::{Digest, Sha256};

use super::TestApp;
use super::app::BACKENDS;
use super::events::chain_length;
use super::totp::{PASSWORD, bearer, enrolled, get, login_with_code, post, totp, unix_now};

fn hex_sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn the_export_holds_everything_about_the_user_and_no_secret() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend);
        let (secret, token) = enrolled(&app, "export@example.com");
        app.age_session(&token, 11 * 60, 0);
        let refused = get(&app, &token, "/v1/account/export");
        assert_eq!((refused.status, refused.error_code().as_str()), (403, "step_up_required"), "{backend:?}");
        let body = json!({"method": "totp", "code": totp(&secret, unix_now() + 30)}).to_string();
        let stepped = post(&app, &token, "/v1/session/step-up", &body);
        assert_eq!(stepped.status, 200, "{backend:?}: {stepped:?}");
        let fresh = stepped.json()["token"].as_str().unwrap().to_owned();

        let export = get(&app, &fresh, "/v1/account/export");
        assert_eq!(export.status, 200, "{backend:?}: {export:?}");
        assert!(export.header("content-disposition").is_some_and(|d| d.starts_with("attachment")), "{export:?}");
        let document = export.json();
        assert_eq!(document["account"]["email"], "export@example.com", "{backend:?}");
        assert_eq!(document["account"]["has_password"], true);
        let authenticators = document["authenticators"].as_array().unwrap();
        assert_eq!((authenticators.len(), &authenticators[0]["enabled"]), (1, &json!(true)), "{backend:?}");
        assert_eq!(document["backup_codes"].as_array().unwrap().len(), 10, "{backend:?}");
        assert_eq!(document["consents"][0]["purpose"], "totp", "{backend:?}: {document}");
        let sessions = document["sessions"].as_array().unwrap();
        assert!(sessions.iter().all(|s| s["ip"] == "127.0.0.1"), "{backend:?}: {sessions:?}");
        let kinds: Vec<&str> =
            document["security_events"].as_array().unwrap().iter().filter_map(|e| e["kind"].as_str()).collect();
        for kind in ["registered", "login_succeeded", "step_up_succeeded"] {
            assert!(kinds.contains(&kind), "{backend:?}: no {kind} in {kinds:?}");
        }

        // No secret of any kind: TOTP secret, password hash, token or its storage key, device digests.
        let encoded = data_encoding::BASE32_NOPAD.encode(&secret);
        let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        for leaked in [encoded.as_str(), &hex, "$argon2", &fresh, &hex_sha256(&fresh), "secret", "hash"] {
            assert!(!export.body.contains(leaked), "{backend:?}: {leaked:?} in the export");
        }
        // The export itself is an event the user sees.
        let activity = get(&app, &fresh, "/v1/activity").json();
        assert_eq!(activity["events"][0]["kind"], "data_exported", "{backend:?}");
    }
}

#[test]
fn erasure_ends_every_session_deletes_every_row_and_keeps_the_chain_verifiable() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend);
        let (_, stays) = enrolled(&app, "stays@example.com");
        let (secret, token) = enrolled(&app, "erase@example.com");
        let user = get(&app, &token, "/v1/session").json()["session"]["user_id"].as_str().unwrap().to_owned();
        let recent = login_with_code(&app, "erase@example.com", &totp(&secret, unix_now() + 30));
        app.age_session(&token, 11 * 60, 0);
        let erase = |token: &str| app.request("DELETE", "/v1/account", &[("authorization", &bearer(token))], "");
        let refused = erase(&token);
        assert_eq!((refused.status, refused.error_code().as_str()), (403, "step_up_required"), "{backend:?}");

        let erased = erase(&recent);
        assert_eq!((erased.status, erased.json()["erased"].as_bool()), (200, Some(true)), "{backend:?}: {erased:?}");
        assert!(erased.set_cookie("__Host-mfa_session").is_some_and(|(value, _)| value.is_empty()), "{erased:?}");
        for gone in [&token, &recent] {
            assert_eq!(get(&app, gone, "/v1/session").status, 401, "{backend:?}: every session ended");
        }
        assert_eq!(app.login("erase@example.com", PASSWORD, &[]).status, 401, "{backend:?}");

        // No row of the user is left in any table, nor a Redis key or value naming them.
        for table in [
            "users",
            "mfa_configurations",
            "backup_codes",
            "user_sessions",
            "user_devices",
            "trusted_devices",
            "login_challenges",
            "second_factor_states",
            "sms_codes",
            "consents",
        ] {
            let left: Vec<String> = app.table_text(table).into_iter().filter(|row| row.contains(&user)).collect();
            assert!(left.is_empty(), "{backend:?}: {table} still holds {left:?}");
        }
        assert!(app.redis_entries().iter().all(|entry| !entry.contains(&user)), "{backend:?}");

        // The events stay, without address or user agent, and the chain still verifies.
        let events = app.rows(&format!(
            "SELECT e.kind, coalesce(p.ip, ''), coalesce(p.user_agent, '') FROM security_events e \
             LEFT JOIN security_event_personal p ON p.event_id = e.id WHERE e.user_id = '{user}' ORDER BY e.id"
        ));
        assert!(events.len() > 5, "{backend:?}: {events:?}");
        assert_eq!(events.last().unwrap()[0].as_deref(), Some("account_erased"), "{backend:?}");
        for event in &events {
            assert_eq!((event[1].as_deref(), event[2].as_deref()), (Some(""), Some("")), "{backend:?}: {event:?}");
        }
        assert!(chain_length(&app) > events.len(), "{backend:?}");

        // Another user is untouched, and the email is free again (with nothing of the old account).
        assert_eq!(get(&app, &stays, "/v1/session").status, 200, "{backend:?}");
        assert_eq!(app.register("erase@example.com", PASSWORD).status, 201);
        let again = app.login("erase@example.com", PASSWORD, &[]);
        assert_eq!(again.status, 201, "{backend:?}: a new account, without a second factor: {again:?}");
        assert_ne!(again.json()["user_id"].as_str(), Some(user.as_str()));
    }
}
