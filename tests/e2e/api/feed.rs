//! The product's event feed (`GET /v1/service/events`): every user's security events, paged by a stable cursor, on
//! both backends.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};

use super::TestApp;
use super::app::BACKENDS;
use super::race::{AT_ONCE, Call, all_at_once, statuses};
use super::totp::PASSWORD;

/// One page of the feed after `after`, at most `limit`: the events and the next cursor.
fn page(app: &TestApp, after: i64, limit: usize) -> (Vec<Value>, i64) {
    let key = format!("Bearer {}", app.api_key);
    let answer =
        app.request("GET", &format!("/v1/service/events?after={after}&limit={limit}"), &[("authorization", &key)], "");
    assert_eq!(answer.status, 200, "{answer:?}");
    let body = answer.json();
    (body["events"].as_array().unwrap().clone(), body["next_after"].as_i64().unwrap())
}

/// Every event after `after`, read page by page (`limit` each) until a page is empty; and the cursor then.
fn drain(app: &TestApp, mut after: i64, limit: usize, into: &mut Vec<Value>) -> i64 {
    loop {
        let (events, next) = page(app, after, limit);
        if events.is_empty() {
            assert_eq!(next, after, "an empty page keeps the cursor");
            return after;
        }
        assert!(events.len() <= limit);
        assert_eq!(next, events.last().unwrap()["id"].as_i64().unwrap());
        into.extend(events);
        after = next;
    }
}

fn ids(events: &[Value]) -> Vec<i64> {
    events.iter().map(|event| event["id"].as_i64().unwrap()).collect()
}

#[test]
fn the_product_reads_every_users_events_in_pages_with_their_external_ids() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend);
        let key = format!("Bearer {}", app.api_key);
        let created = app.post_with_key("/v1/service/users", r#"{"external_id": "crm-feed-1"}"#).json();
        let id = created["user"]["id"].as_str().unwrap().to_owned();
        let client = r#"{"ip": "203.0.113.9", "user_agent": "FeedTest/1.0"}"#;
        assert_eq!(app.post_with_key(&format!("/v1/service/users/{id}/sessions"), client).status, 201);
        assert_eq!(app.register("plain@example.com", PASSWORD).status, 201);
        assert_eq!(app.login("plain@example.com", PASSWORD, &[]).status, 201);

        // One page with everything, and the same read three at a time: the same events, ids rising.
        let (everything, last) = page(&app, 0, 1000);
        let mut paged = Vec::new();
        assert_eq!(drain(&app, 0, 3, &mut paged), last, "{backend:?}");
        assert_eq!(paged, everything, "{backend:?}");
        assert!(ids(&everything).windows(2).all(|pair| pair[0] < pair[1]), "{backend:?}: {everything:?}");
        let session = everything.iter().find(|e| e["kind"] == "session_created" && e["user_id"] == json!(id));
        let session = session.unwrap_or_else(|| panic!("{backend:?}: {everything:?}"));
        assert_eq!(
            (session["external_id"].as_str(), session["ip"].as_str(), session["user_agent"].as_str()),
            (Some("crm-feed-1"), Some("203.0.113.9"), Some("FeedTest/1.0"))
        );
        let plain = everything.iter().find(|e| e["kind"] == "registered").unwrap();
        assert_eq!((plain["external_id"].clone(), plain["user_id"].is_string()), (Value::Null, true));

        // From the last cursor, only what happened since.
        assert_eq!(app.login("plain@example.com", "wrong password", &[]).status, 401);
        let (newer, _) = page(&app, last, 100);
        assert_eq!(newer.iter().map(|e| e["kind"].as_str().unwrap()).collect::<Vec<_>>(), ["login_failed"]);

        // Refusals: out of range or malformed parameters, no key.
        for query in ["limit=0", "limit=1001", "after=-1", "after=x", "limit=2&limit=3"] {
            let path = format!("/v1/service/events?{query}");
            let refused = app.request("GET", &path, &[("authorization", &key)], "");
            assert_eq!((refused.status, refused.error_code().as_str()), (400, "invalid_field"), "{query}");
        }
        assert_eq!(app.request("GET", "/v1/service/events", &[], "").status, 401);
    }
}

#[test]
fn a_reader_following_the_cursor_while_events_are_written_at_once_misses_and_repeats_nothing() {
    for backend in BACKENDS {
        let app = Arc::new(TestApp::spawn(backend));
        let users: Vec<String> = (0..AT_ONCE)
            .map(|n| {
                let body = format!(r#"{{"external_id": "crm-busy-{n}"}}"#);
                app.post_with_key("/v1/service/users", &body).json()["user"]["id"].as_str().unwrap().to_owned()
            })
            .collect();
        let (_, start) = page(&app, 0, 1000);

        // A reader follows the feed, small pages, while AT_ONCE sign-ins write their events at the same instant.
        let writing = Arc::new(AtomicBool::new(true));
        let reader = {
            let (app, writing) = (app.clone(), writing.clone());
            std::thread::spawn(move || {
                let (mut seen, mut after) = (Vec::new(), start);
                while writing.load(Ordering::SeqCst) {
                    after = drain(&app, after, 2, &mut seen);
                }
                drain(&app, after, 2, &mut seen);
                seen
            })
        };
        let calls: Vec<Call> = users
            .iter()
            .map(|id| {
                let (app, path) = (app.clone(), format!("/v1/service/users/{id}/sessions"));
                Box::new(move || app.post_with_key(&path, "")) as Call
            })
            .collect();
        let signed_in = all_at_once(calls);
        assert!(signed_in.iter().all(|answer| answer.status == 201), "{backend:?}: {:?}", statuses(&signed_in));
        writing.store(false, Ordering::SeqCst);
        let seen = reader.join().unwrap();

        let mut everything = Vec::new();
        drain(&app, start, 1000, &mut everything);
        assert_eq!(ids(&seen), ids(&everything), "{backend:?}: the follower saw exactly the events, in order");
        let sessions = everything.iter().filter(|e| e["kind"] == "session_created").count();
        assert_eq!(sessions, AT_ONCE, "{backend:?}");
    }
}
