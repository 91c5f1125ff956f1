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

        // Unknown, malformed and logged-out tokens: only {"active": false}.
        for token in ["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "not a token"] {
            let answer = app.post_with_key("/v1/introspect", &format!(r#"{{"token": "{token}"}}"#));
            assert_eq!(answer.json(), serde_json::json!({"active": false}), "{backend:?}");
        }
        let bearer = format!("Bearer {token}");
        assert_eq!(app.request("DELETE", "/v1/session", &[("authorization", &bearer)], "").status, 200);
        assert_eq!(app.post_with_key("/v1/introspect", &body).json(), serde_json::json!({"active": false}));
    }
}
