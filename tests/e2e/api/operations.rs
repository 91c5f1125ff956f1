//! Operations endpoints and the HTTP behaviour every endpoint shares, on both backends.

use super::app::BACKENDS;
use super::race::{AT_ONCE, Call, all_at_once};
use super::{Backend, TestApp};

#[test]
fn migrations_need_the_api_key_and_are_idempotent_and_readyz_follows_them() {
    for backend in BACKENDS {
        let app = TestApp::spawn_with(backend, &[]);
        assert_eq!(app.get("/healthz").status, 200, "{backend:?}");
        let not_ready = app.get("/readyz");
        assert_eq!((not_ready.status, not_ready.error_code().as_str()), (503, "not_ready"), "{backend:?}");

        let refused = app.request("POST", "/v1/admin/migrate", &[("authorization", "Bearer wrong")], "");
        assert_eq!((refused.status, refused.error_code().as_str()), (401, "unauthorized"), "{backend:?}");
        assert_eq!(refused.header("www-authenticate"), Some("Bearer"));
        let anonymous = app.request("POST", "/v1/admin/migrate", &[], "");
        assert_eq!(anonymous.status, 401, "{backend:?}");

        let first = app.post_with_key("/v1/admin/migrate", "");
        assert_eq!(first.status, 200, "{backend:?}: {first:?}");
        assert_eq!(
            first.json(),
            serde_json::json!({"applied": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "schema_version": 10}),
            "{backend:?}"
        );
        let again = app.post_with_key("/v1/admin/migrate", "");
        assert_eq!(again.json(), serde_json::json!({"applied": [], "schema_version": 10}), "{backend:?}");
        let ready = app.get("/readyz");
        assert_eq!(ready.status, 200, "{backend:?}: {ready:?}");
        assert_eq!(ready.json()["schema_version"], 10);
    }
}

#[test]
fn parallel_migrations_on_postgres_apply_each_version_once() {
    let app = TestApp::spawn_with(Backend::RedisPostgres, &[]);
    let app = std::sync::Arc::new(app);
    let calls: Vec<Call<serde_json::Value>> = (0..AT_ONCE)
        .map(|_| {
            let app = app.clone();
            Box::new(move || app.post_with_key("/v1/admin/migrate", "").json()) as Call<serde_json::Value>
        })
        .collect();
    let answers = all_at_once(calls);
    let applied: usize = answers.iter().map(|a| a["applied"].as_array().unwrap().len()).sum();
    assert_eq!(applied, 10, "each of the 10 migrations once: {answers:?}");
    assert!(answers.iter().all(|a| a["schema_version"] == 10), "{answers:?}");
}

#[test]
fn errors_are_json_with_stable_codes_and_every_answer_has_the_security_headers() {
    for backend in BACKENDS {
        let app = TestApp::spawn(backend);
        let missing = app.get("/v1/no/such/thing");
        assert_eq!((missing.status, missing.error_code().as_str()), (404, "not_found"), "{backend:?}");
        let wrong_method = app.request("DELETE", "/healthz", &[], "");
        assert_eq!((wrong_method.status, wrong_method.error_code().as_str()), (405, "method_not_allowed"));
        assert_eq!(wrong_method.header("allow"), Some("GET"));
        let too_large = app.request("POST", "/v1/admin/migrate", &[], &"x".repeat(70 * 1024));
        assert_eq!((too_large.status, too_large.error_code().as_str()), (413, "body_too_large"), "{backend:?}");
        for answer in [&missing, &wrong_method, &too_large, &app.get("/healthz")] {
            for header in ["strict-transport-security", "x-content-type-options", "x-frame-options"] {
                assert!(answer.header(header).is_some(), "{header} missing from {answer:?}");
            }
            assert_eq!(answer.header("cache-control"), Some("no-store"));
            assert_eq!(answer.header("content-security-policy"), Some("default-src 'none'; frame-ancestors 'none'"));
        }
    }
}

#[test]
fn the_served_openapi_document_names_only_routes_the_app_answers() {
    let app = TestApp::spawn(super::Backend::Sqlite);
    let answer = app.get("/openapi.json");
    assert_eq!((answer.status, answer.header("content-type")), (200, Some("application/json")));
    let document = answer.json();
    assert_eq!(document["openapi"], "3.1.0");
    let paths = document["paths"].as_object().unwrap();
    assert!(paths.len() >= 18, "{:?}", paths.keys());
    for (path, item) in paths {
        let concrete = path.replace("{id}", "some-id");
        for method in item.as_object().unwrap().keys() {
            let method = method.to_ascii_uppercase();
            // No credentials and no body: the route must exist (whatever else it refuses).
            let answer = app.request(&method, &concrete, &[], "");
            let routed = !(answer.status == 404 && answer.error_code() == "not_found") && answer.status != 405;
            assert!(routed, "{method} {path} is documented but not routed: {answer:?}");
        }
    }
}
