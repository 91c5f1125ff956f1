//! The self-service web UI's component beside the API in the same app: the page and its files with a strict
//! Content-Security-Policy, everything under `/v1` still the API's (JSON errors included), and wording for every
//! kind of security event on the activity page.

use super::TestApp;
use super::app::Backend;

#[test]
fn the_ui_serves_its_page_and_files_and_the_api_keeps_v1() {
    let app = TestApp::spawn(Backend::Sqlite);
    let page = app.get("/");
    assert_eq!((page.status, page.header("content-type")), (200, Some("text/html; charset=utf-8")), "{page:?}");
    assert!(page.body.contains(r#"<script type="module" src="/app.js"></script>"#), "{}", page.body);
    let policy = page.header("content-security-policy").unwrap_or_default().to_owned();
    for directive in ["default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"] {
        assert!(policy.contains(directive), "{policy}");
    }
    assert!(!policy.contains("unsafe-inline") && !policy.contains("unsafe-eval"), "{policy}");
    assert!(!page.body.contains("<script>"), "no inline script");
    let script = app.get("/app.js");
    assert_eq!((script.status, script.header("content-type")), (200, Some("text/javascript; charset=utf-8")));
    assert!(!script.body.contains("localStorage") && !script.body.contains("sessionStorage"), "no web storage");
    let etag = script.header("etag").unwrap().to_owned();
    assert_eq!(app.request("GET", "/app.js", &[("if-none-match", &etag)], "").status, 304);
    assert_eq!(app.get("/app.css").status, 200);

    let missing = app.get("/no/such/page");
    assert_eq!((missing.status, missing.header("content-type")), (404, Some("text/html; charset=utf-8")));
    let post = app.request("POST", "/", &[], "");
    assert_eq!((post.status, post.header("allow")), (405, Some("GET, HEAD")));

    // The API's paths are the API's, with JSON errors and its own policy.
    let unknown = app.get("/v1/no/such/thing");
    assert_eq!((unknown.status, unknown.error_code().as_str()), (404, "not_found"));
    assert_eq!(unknown.header("content-security-policy"), Some("default-src 'none'; frame-ancestors 'none'"));
    assert_eq!(app.get("/healthz").status, 200);
    assert_eq!(app.get("/openapi.json").header("content-type"), Some("application/json"));
}

#[test]
fn the_activity_page_words_every_event_kind_the_app_records() {
    let app = TestApp::spawn(Backend::Sqlite);
    let script = app.get("/app.js").body;
    let texts = script.split("const EVENT_TEXTS = {").nth(1).and_then(|rest| rest.split("};").next()).unwrap();
    let kinds = crate::support::event_kinds();
    assert!(kinds.len() > 60, "{kinds:?}");
    let unworded: Vec<&String> = kinds.iter().filter(|kind| !texts.contains(&format!("\n  {kind}: \""))).collect();
    assert!(unworded.is_empty(), "no wording in the activity page for {unworded:?}");
}
