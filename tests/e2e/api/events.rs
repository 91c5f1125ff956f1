//! The security-event trail: what the user sees, the IP it records, and the hash chain (checked here with an
//! independent SHA-256 over the stored rows).

use sha2::{Digest, Sha256};

use audit_chain::Verdict;

use super::app::{Answer, BACKENDS, credentials};
use super::race::{AT_ONCE, Call, all_at_once};
use super::{Backend, TestApp};

const PASSWORD: &str = "correct horse battery staple";

fn post_json(app: &TestApp, path: &str, body: &str, extra: &[(&str, &str)]) -> Answer {
    app.post_json(path, body, extra)
}

#[test]
fn the_user_sees_their_events_with_the_real_client_address() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend);
        assert_eq!(post_json(&app, "/v1/register", &credentials("eve@example.com", PASSWORD), &[]).status, 201);
        let forged = [("spin-client-addr", "203.0.113.9:4444"), ("user-agent", "probe/2")];
        assert_eq!(
            post_json(&app, "/v1/login", &credentials("eve@example.com", "wrong password here"), &forged).status,
            401
        );
        let first = post_json(&app, "/v1/login", &credentials("eve@example.com", PASSWORD), &forged);
        let token = first.json()["token"].as_str().unwrap().to_owned();
        assert_eq!(first.json()["ip"], "127.0.0.1", "{backend:?}: a forged spin-client-addr is not the client");
        let bearer = format!("Bearer {token}");
        assert_eq!(app.request("POST", "/v1/session/refresh", &[("authorization", &bearer)], "").status, 200);
        let stale = app.request("POST", "/v1/session/refresh", &[("authorization", &bearer)], "");
        assert_eq!(stale.status, 401, "the old token died with the first refresh");

        let second = post_json(&app, "/v1/login", &credentials("eve@example.com", PASSWORD), &[]);
        let bearer = format!("Bearer {}", second.json()["token"].as_str().unwrap());
        let activity = app.request("GET", "/v1/activity", &[("authorization", &bearer)], "");
        assert_eq!(activity.status, 200, "{backend:?}: {activity:?}");
        let events = activity.json()["events"].as_array().unwrap().clone();
        let kinds: Vec<&str> = events.iter().rev().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(
            kinds,
            [
                "registered",
                "login_failed",
                "login_succeeded",
                "session_created",
                "login_risk",
                "session_rotated",
                "login_succeeded",
                "session_created",
                "login_risk"
            ],
            "{backend:?}"
        );
        assert!(events.iter().all(|e| e["ip"] == "127.0.0.1"), "{backend:?}: {events:?}");
        let failed = events.iter().find(|e| e["kind"] == "login_failed").unwrap();
        assert_eq!(failed["detail"]["reason"], "wrong_password", "{backend:?}");
        assert!(events.iter().any(|e| e["user_agent"] == "probe/2"));
    }
}

fn sha256_hex(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(parts.join("\n").as_bytes());
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks the whole event chain of `app` with this file's own SHA-256 (each `prev_hash` links to the event
/// before, each `hash` is the row's); the number of events.
pub(super) fn chain_length(app: &TestApp) -> usize {
    let rows = app.rows(
        "SELECT coalesce(user_id, ''), kind, CAST(at AS TEXT), coalesce(session_id, ''), detail, personal_digest, \
         prev_hash, hash FROM security_events ORDER BY id",
    );
    let mut previous = "0".repeat(64);
    for row in &rows {
        let field = |i: usize| row[i].clone().unwrap();
        assert_eq!(field(6), previous, "prev_hash links to the event before");
        let expected = sha256_hex(&[&field(6), &field(1), &field(0), &field(2), &field(3), &field(4), &field(5)]);
        assert_eq!(field(7), expected, "the stored hash is SHA-256 of the row");
        previous = field(7);
    }
    rows.len()
}

#[test]
fn the_event_chain_verifies_and_personal_data_is_apart() {
    // Behind a trusted proxy (the test's own loopback) that reports a country: the location is personal data too.
    let app = TestApp::migrated(Backend::RedisPostgres, &[("trusted_proxies", "127.0.0.1")]);
    // Twenty users at once: concurrent appends must still make one unbroken chain.
    let app = std::sync::Arc::new(app);
    let calls: Vec<Call<()>> = (0..AT_ONCE)
        .map(|n| {
            let app = app.clone();
            Box::new(move || {
                let email = format!("chain{n}@example.com");
                assert_eq!(post_json(&app, "/v1/register", &credentials(&email, PASSWORD), &[]).status, 201);
                let from_germany = [("cf-ipcountry", "DE")];
                assert_eq!(post_json(&app, "/v1/login", &credentials(&email, PASSWORD), &from_germany).status, 201);
            }) as Call<()>
        })
        .collect();
    all_at_once(calls);
    let events = 4 * AT_ONCE;
    assert_eq!(chain_length(&app), events, "per user: registered, login_succeeded, session_created, login_risk");
    let located = app.rows("SELECT location FROM security_event_personal WHERE location <> ''");
    assert_eq!(located.len(), 3 * AT_ONCE, "the login's three events carry the country: {located:?}");
    // The personal data is in its own table, salted, and not in the chained row.
    let personal = app.database().unwrap().rows(
        "SELECT p.ip, encode(p.salt, 'hex'), e.personal_digest, p.user_agent, p.location FROM security_event_personal p \
         JOIN security_events e ON e.id = p.event_id",
    );
    assert_eq!(personal.len(), events);
    for row in personal {
        let field = |i: usize| row[i].clone().unwrap();
        assert_eq!(field(0), "127.0.0.1");
        assert_eq!(field(1).len(), 32);
        // The chained digest is SHA-256(salt "\n" ip "\n" user agent), then "\n" location when there is one.
        let salt: Vec<u8> = (0..16).map(|i| u8::from_str_radix(&field(1)[2 * i..2 * i + 2], 16).unwrap()).collect();
        let mut hasher = Sha256::new();
        hasher.update(&salt);
        hasher.update(format!("\n{}\n{}", field(0), field(3)).as_bytes());
        if !field(4).is_empty() {
            assert_eq!(field(4), r#"{"city":null,"country":"DE","region":null}"#);
            hasher.update(format!("\n{}", field(4)).as_bytes());
        }
        let digest: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(field(2), digest);
    }
}

#[test]
fn the_audit_tool_finds_the_chain_intact_and_names_the_first_tampered_event() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend);
        for n in 0..3 {
            let email = format!("audit{n}@example.com");
            assert_eq!(post_json(&app, "/v1/register", &credentials(&email, PASSWORD), &[]).status, 201);
            assert_eq!(post_json(&app, "/v1/login", &credentials(&email, PASSWORD), &[]).status, 201);
        }
        let read = || match (app.sqlite_file(), app.database()) {
            (Some(file), _) => audit_chain::sqlite_rows(file.to_str().unwrap()).unwrap(),
            (None, Some(database)) => audit_chain::postgres_rows(&database.url()).unwrap(),
            (None, None) => unreachable!("every backend has a database"),
        };
        let rows = read();
        let last = rows.last().unwrap().hash.clone();
        assert_eq!(audit_chain::verify(&rows), Verdict::Intact { events: chain_length(&app), last_hash: last });
        // Someone edits one event's detail in the database: the tool names that event.
        let target = rows[rows.len() / 2].id;
        app.execute(&format!("UPDATE security_events SET detail = '{{\"tampered\":true}}' WHERE id = {target}"));
        match audit_chain::verify(&read()) {
            Verdict::Broken { id, why } => {
                assert_eq!((id, why.as_str()), (target, "the hash is not the SHA-256 of the row"))
            }
            intact => panic!("{backend:?}: a tampered chain verified: {intact:?}"),
        }
        // Removing an event breaks the link of the one after.
        app.execute(&format!("DELETE FROM security_event_personal WHERE event_id = {target}"));
        app.execute(&format!("DELETE FROM security_events WHERE id = {target}"));
        assert!(matches!(audit_chain::verify(&read()), Verdict::Broken { id, .. } if id > target), "{backend:?}");
    }
}
