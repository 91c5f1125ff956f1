//! The client's location, from request headers a trusted proxy sets (or as the product states it through the service
//! API): kept with the session and its events, shown in the session list and the activity, and compared for the
//! `new_country` risk signal. Nothing when no trusted proxy says it. On both backends.

use serde_json::{Value, json};

use super::TestApp;
use super::app::BACKENDS;
use super::totp::{PASSWORD, bearer, get};

/// The risk signals of a login answer.
fn signals(login: &Value) -> Vec<String> {
    login["risk_signals"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_owned()).collect()
}

#[test]
fn a_location_comes_only_from_a_trusted_proxy_and_a_new_country_is_a_risk_signal() {
    for backend in BACKENDS {
        let behind_proxy = [
            ("trusted_proxies", "127.0.0.1"),
            ("location_region_header", "X-Geo-Region"),
            ("location_city_header", "X-Geo-City"),
        ];
        let app = TestApp::migrated(backend, &behind_proxy);
        assert_eq!(app.register("traveller@example.com", PASSWORD).status, 201);
        let login_from = |country: &str, region: &str, city: &str| {
            let headers = [
                ("x-forwarded-for", "203.0.113.7"),
                ("cf-ipcountry", country),
                ("x-geo-region", region),
                ("x-geo-city", city),
            ];
            let answer = app.login("traveller@example.com", PASSWORD, &headers);
            assert_eq!(answer.status, 201, "{backend:?}: {answer:?}");
            answer.json()
        };

        // The first country is new; the same country again is not; another one is.
        let munich = login_from("de", "Bavaria", "Munich");
        assert_eq!(munich["location"], json!({"country": "DE", "region": "Bavaria", "city": "Munich"}), "{munich}");
        assert!(signals(&munich).contains(&"new_country".to_owned()), "{backend:?}: {munich}");
        let berlin = login_from("DE", "Berlin", "Berlin");
        assert!(!signals(&berlin).contains(&"new_country".to_owned()), "{backend:?}: {berlin}");
        let paris = login_from("FR", "Île-de-France", "Paris");
        assert!(signals(&paris).contains(&"new_country".to_owned()), "{backend:?}: {paris}");
        // A proxy that does not know (XX) or garbage: unknown, never a signal.
        let unknown = login_from("XX", "Nowhere", "Nowhere");
        assert_eq!(
            (unknown["location"].clone(), signals(&unknown).contains(&"new_country".to_owned())),
            (Value::Null, false)
        );

        // The session list and the activity show it.
        let token = paris["token"].as_str().unwrap().to_owned();
        let listed = get(&app, &token, "/v1/sessions").json()["sessions"].as_array().unwrap().clone();
        let of =
            |answer: &Value| listed.iter().find(|s| s["id"] == answer["id"]).map(|s| s["location"]["country"].clone());
        let countries: Vec<Option<Value>> = [&munich, &berlin, &paris, &unknown].into_iter().map(of).collect();
        assert_eq!(
            countries,
            [Some(json!("DE")), Some(json!("DE")), Some(json!("FR")), Some(Value::Null)],
            "{backend:?}"
        );
        let activity = get(&app, &token, "/v1/activity").json();
        let created = activity["events"].as_array().unwrap().iter().find(|e| e["kind"] == "session_created").cloned();
        assert_eq!(created.map(|e| e["location"].clone()), Some(Value::Null), "the newest, from XX");
        let risk = activity["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == "login_risk" && e["location"]["country"] == "FR");
        assert!(risk.is_some_and(|e| e["detail"]["signals"].to_string().contains("new_country")), "{activity}");
        let exported_sessions = {
            let stepped =
                app.login("traveller@example.com", PASSWORD, &[]).json()["token"].as_str().unwrap().to_owned();
            get(&app, &stepped, "/v1/account/export").json()["sessions"].clone()
        };
        assert!(exported_sessions.to_string().contains("Île-de-France"), "{backend:?}: {exported_sessions}");

        // Not from a trusted proxy: the same headers are the client's own words, and ignored.
        let direct = app.sibling(&[("trusted_proxies", "")]);
        let spoofed = direct.login("traveller@example.com", PASSWORD, &[("cf-ipcountry", "KP")]).json();
        assert_eq!(spoofed["location"], Value::Null, "{backend:?}: {spoofed}");
        assert!(!signals(&spoofed).contains(&"new_country".to_owned()));
        let elsewhere = app.sibling(&[("trusted_proxies", "10.0.0.0/8")]);
        assert_eq!(
            elsewhere.login("traveller@example.com", PASSWORD, &[("cf-ipcountry", "KP")]).json()["location"],
            Value::Null
        );

        // The product states its user's location through the service API, checked the same way.
        let id = munich["user_id"].as_str().unwrap();
        let sign_in = |body: &str| app.post_with_key(&format!("/v1/service/users/{id}/sessions"), body);
        let tokyo = sign_in(r#"{"location": {"country": "JP", "city": "Tokyo"}}"#);
        assert_eq!(tokyo.status, 201, "{backend:?}: {tokyo:?}");
        assert_eq!(tokyo.json()["location"], json!({"country": "JP", "region": null, "city": "Tokyo"}));
        assert!(signals(&tokyo.json()).contains(&"new_country".to_owned()));
        for bad in [r#"{"location": {"country": "Japan"}}"#, r#"{"location": {"city": "Tokyo"}}"#] {
            let refused = sign_in(bad);
            assert_eq!((refused.status, refused.error_code().as_str()), (400, "invalid_field"), "{bad}: {refused:?}");
        }
        let bearer_token = bearer(tokyo.json()["token"].as_str().unwrap());
        let own = app.request("GET", "/v1/session", &[("authorization", &bearer_token)], "").json();
        assert_eq!(own["session"]["location"]["country"], "JP", "{backend:?}");
    }
}
