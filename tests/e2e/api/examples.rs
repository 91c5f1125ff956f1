//! The examples of the OpenAPI document (`components/api/openapi.json`, which `docs/api-guide.md` shows) are the
//! running app's answers: a walk through every JSON endpoint records each request and answer, and every example of
//! a request body or a success answer must have the shape (the same fields, recursively, with the same JSON types;
//! each element of an example list that of some element of the real list) of a request the app accepted or of an
//! answer it gave with that status. Every JSON request body and success answer of the document (but the document
//! itself) must have an example and be reached by the walk. `scripts/openapi_examples.py` checks each example
//! against its schema besides.
//!
//! `MFA_PROPOSE_EXAMPLES=1` writes the first real request and answer of every operation to
//! `target/openapi-examples.json`, to fill in a missing example from.

use std::collections::{BTreeMap, BTreeSet};

use mfa_core::webauthn::soft_authenticator::Algorithm;
use serde_json::{Value, json};

use super::TestApp;
use super::app::{Backend, Exchange, recorded};
use super::passkeys::{assertion, authenticator, ceremony, registration};
use super::totp::{PASSWORD, bearer, secret_of, totp, unix_now, with_consent};
use super::twilio::FakeTwilio;
use crate::support::fits_template;

/// An operation of the document: method (lower case) and path template.
type Operation = (String, String);

/// The document's path templates.
fn templates(document: &Value) -> Vec<String> {
    document["paths"].as_object().unwrap().keys().cloned().collect()
}

/// The template `path` is an instance of: an exact path first, else the one with most literal segments (as the
/// app's route table prefers).
fn template_of(templates: &[String], path: &str) -> Option<String> {
    let literal = |template: &str| template.split('/').filter(|s| !s.starts_with('{')).count();
    templates.iter().filter(|t| fits_template(t, path)).max_by_key(|t| literal(t)).cloned()
}

/// The kind of a JSON value, as the shape comparison sees it.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Where `example` does not have the shape of `real` (none when it does). A null on either side fits anything (a
/// field that may be null); an empty example list fits any list.
fn mismatch(example: &Value, real: &Value, at: &str) -> Option<String> {
    match (example, real) {
        (Value::Null, _) | (_, Value::Null) => None,
        (Value::Object(example), Value::Object(real)) => {
            let (shown, given): (BTreeSet<&String>, BTreeSet<&String>) =
                (example.keys().collect(), real.keys().collect());
            if shown != given {
                return Some(format!("{at}: fields {shown:?} in the example, {given:?} answered"));
            }
            example.iter().find_map(|(key, value)| mismatch(value, &real[key], &format!("{at}.{key}")))
        }
        (Value::Array(example), Value::Array(real)) => example.iter().enumerate().find_map(|(index, element)| {
            let at = format!("{at}[{index}]");
            if real.is_empty() {
                return Some(format!("{at}: the example lists elements, the real answer none"));
            }
            let problems: Vec<String> = real.iter().filter_map(|given| mismatch(element, given, &at)).collect();
            (problems.len() == real.len()).then(|| problems.join("; or "))
        }),
        _ if kind(example) == kind(real) => None,
        _ => Some(format!("{at}: {} in the example, {} answered", kind(example), kind(real))),
    }
}

/// Every example of the document to check: operation, where (`request` or a status) and the example.
fn examples(document: &Value) -> Vec<(Operation, String, Value)> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let op = (method.clone(), path.clone());
            if let Some(example) = operation.pointer("/requestBody/content/application~1json/example") {
                found.push((op.clone(), "request".to_owned(), example.clone()));
            }
            for (status, answer) in operation["responses"].as_object().unwrap() {
                if let Some(example) = answer.pointer("/content/application~1json/example")
                    && status.starts_with('2')
                {
                    found.push((op.clone(), status.clone(), example.clone()));
                }
            }
        }
    }
    found
}

/// Every JSON request body and success answer the document describes (but the document itself): operation and
/// where (`request` or the status).
fn json_places(document: &Value) -> Vec<(Operation, String)> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap().iter().filter(|(path, _)| *path != "/openapi.json") {
        for (method, operation) in item.as_object().unwrap() {
            if operation.pointer("/requestBody/content/application~1json").is_some() {
                found.push(((method.clone(), path.clone()), "request".to_owned()));
            }
            for (status, answer) in operation["responses"].as_object().unwrap() {
                if status.starts_with('2') && answer.pointer("/content/application~1json").is_some() {
                    found.push(((method.clone(), path.clone()), status.clone()));
                }
            }
        }
    }
    found
}

/// The walk's exchanges by operation and status (`request` for accepted request bodies), as JSON.
fn by_operation(templates: &[String], exchanges: &[Exchange]) -> BTreeMap<(Operation, String), Vec<Value>> {
    let mut seen: BTreeMap<(Operation, String), Vec<Value>> = BTreeMap::new();
    for exchange in exchanges {
        let Some(template) = template_of(templates, &exchange.path) else { continue };
        let op = (exchange.method.to_ascii_lowercase(), template);
        if let Ok(answer) = serde_json::from_str::<Value>(&exchange.answer) {
            seen.entry((op.clone(), exchange.status.to_string())).or_default().push(answer);
        }
        if (200..300).contains(&exchange.status)
            && let Ok(request) = serde_json::from_str::<Value>(&exchange.request)
        {
            seen.entry((op, "request".to_owned())).or_default().push(request);
        }
    }
    seen
}

/// A field of an answer as text.
fn text(answer: &Value, pointer: &str) -> String {
    answer.pointer(pointer).and_then(Value::as_str).unwrap_or_else(|| panic!("no {pointer} in {answer}")).to_owned()
}

/// The walk: every JSON endpoint answered with success at least once, as a user, a product backend and an operator
/// would call them, on SQLite with SMS through the loopback fake Twilio.
fn walk(app: &TestApp, twilio: &FakeTwilio) {
    let call = |method: &str, path: &str, token: Option<&str>, body: Value| {
        let authorization = token.map(bearer);
        let mut headers = vec![("content-type", "application/json"), ("user-agent", BROWSER)];
        if let Some(authorization) = &authorization {
            headers.push(("authorization", authorization.as_str()));
        }
        let body = if body.is_null() { String::new() } else { body.to_string() };
        let answer = app.request(method, path, &headers, &body);
        assert!((200..300).contains(&answer.status), "{method} {path}: {answer:?}");
        if answer.header("content-type").is_some_and(|t| t.starts_with("application/json")) {
            answer.json()
        } else {
            Value::Null
        }
    };
    let key = app.api_key.clone();
    let service = |method: &str, path: &str, body: Value| call(method, path, Some(&key), body);
    let user = |method: &str, path: &str, token: &str, body: Value| call(method, path, Some(token), body);
    let code_sent = || twilio.messages().last().unwrap().code();
    let ada = "ada@example.com";
    let credentials = json!({"email": ada, "password": PASSWORD});

    // Operations.
    call("GET", "/healthz", None, Value::Null);
    call("GET", "/readyz", None, Value::Null);
    service("POST", "/v1/admin/migrate", Value::Null);

    // An account, a session, and the session's own endpoints.
    call("POST", "/v1/register", None, credentials.clone());
    let mut token = text(&call("POST", "/v1/login", None, credentials.clone()), "/token");
    user("GET", "/v1/session", &token, Value::Null);
    token = text(&user("POST", "/v1/session/refresh", &token, Value::Null), "/token");
    user("GET", "/v1/sessions", &token, Value::Null);
    call("GET", "/v1/consent-texts", None, Value::Null);

    // Second factors: an authenticator app, a phone, a passkey; backup codes.
    let started = user("POST", "/v1/mfa/totp", &token, serde_json::from_str(&with_consent(app, "totp", "")).unwrap());
    let totp_id = text(&started, "/id");
    let secret = secret_of(&text(&started, "/otpauth_uri"));
    let now = unix_now();
    let confirmed =
        user("POST", &format!("/v1/mfa/totp/{totp_id}/confirm"), &token, json!({"code": totp(&secret, now - 30)}));
    let backup_codes: Vec<String> =
        confirmed["backup_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
    user("PATCH", &format!("/v1/mfa/totp/{totp_id}"), &token, json!({"name": "Phone"}));
    let body = with_consent(app, "sms", &json!({"phone": "+44 7700 900123"}).to_string());
    let phone_id = text(&user("POST", "/v1/mfa/sms", &token, serde_json::from_str(&body).unwrap()), "/id");
    user("POST", &format!("/v1/mfa/sms/{phone_id}/confirm"), &token, json!({"code": code_sent()}));
    let body = with_consent(app, "webauthn", r#"{"name": "Laptop"}"#);
    let options = user("POST", "/v1/mfa/webauthn/options", &token, serde_json::from_str(&body).unwrap());
    let passkey = authenticator(Algorithm::Es256, 1);
    let credential = registration(&passkey, &ceremony(&options["publicKey"]));
    let handle = text(&options, "/publicKey/user/id");
    let added = user("POST", "/v1/mfa/webauthn", &token, json!({"credential": credential}));
    let passkey_id = text(&added, "/id");
    user("PATCH", &format!("/v1/mfa/webauthn/{passkey_id}"), &token, json!({"name": "Work laptop"}));
    user("GET", "/v1/mfa/factors", &token, Value::Null);
    user("GET", "/v1/mfa/backup-codes", &token, Value::Null);
    user("GET", "/v1/consents", &token, Value::Null);

    // Logins with each second factor; one remembers the device.
    let challenge = || text(&call("POST", "/v1/login", None, credentials.clone()), "/challenge_id");
    let first = app.post_json("/v1/login", &credentials.to_string(), &[]);
    let (device, _) = first.set_cookie("__Host-mfa_device").expect("a device cookie");
    let cookie = format!("__Host-mfa_device={device}");
    let id = text(&first.json(), "/challenge_id");
    call("POST", "/v1/login/sms", None, json!({"challenge_id": id}));
    let verified = app.post_json(
        "/v1/login/verify",
        &json!({"challenge_id": id, "method": "sms", "code": code_sent(), "remember_device": true}).to_string(),
        &[("cookie", &cookie)],
    );
    assert_eq!(verified.status, 201, "{verified:?}");
    let id = challenge();
    let options = call("POST", "/v1/login/webauthn/options", None, json!({"challenge_id": id}));
    let signed = assertion(&passkey, &ceremony(&options["publicKey"]), None);
    call("POST", "/v1/login/verify", None, json!({"challenge_id": id, "method": "webauthn", "credential": signed}));
    let id = challenge();
    let code = totp(&secret, now);
    call("POST", "/v1/login/verify", None, json!({"challenge_id": id, "method": "totp", "code": code}));
    let id = challenge();
    let body = json!({"challenge_id": id, "method": "backup_code", "code": backup_codes[0]});
    call("POST", "/v1/login/verify", None, body);
    let options = call("POST", "/v1/login/passkey/options", None, Value::Null);
    let signed = assertion(&passkey, &ceremony(&options["publicKey"]), Some(&handle));
    call("POST", "/v1/login/passkey", None, json!({"credential": signed}));
    // The remembered device skips the second factor.
    let skipped = app.post_json("/v1/login", &credentials.to_string(), &[("cookie", &cookie)]);
    assert_eq!(skipped.status, 201, "{skipped:?}");
    // The newest session goes on (the session limit ended the oldest).
    token = text(&skipped.json(), "/token");

    // Step-up with each factor.
    user("POST", "/v1/session/step-up/sms", &token, json!({"phone_id": phone_id}));
    let body = json!({"method": "sms", "code": code_sent()});
    token = text(&user("POST", "/v1/session/step-up", &token, body), "/token");
    let options = user("POST", "/v1/session/step-up/webauthn/options", &token, Value::Null);
    let signed = assertion(&passkey, &ceremony(&options["publicKey"]), None);
    token = text(
        &user("POST", "/v1/session/step-up", &token, json!({"method": "webauthn", "credential": signed})),
        "/token",
    );
    user("POST", "/v1/mfa/backup-codes", &token, Value::Null);
    let devices = user("GET", "/v1/trusted-devices", &token, Value::Null);
    let device_id = text(&devices, "/trusted_devices/0/id");
    user("DELETE", &format!("/v1/trusted-devices/{device_id}"), &token, Value::Null);
    user("GET", "/v1/activity", &token, Value::Null);

    // The product's backend.
    service("POST", "/v1/introspect", json!({"token": token, "token_type_hint": "access_token"}));
    let created = service("POST", "/v1/service/users", json!({"external_id": "crm-42", "email": "grace@example.com"}));
    let product_user = text(&created, "/user/id");
    service("POST", "/v1/service/users", json!({"external_id": "crm-42"}));
    let email = url_encoded(ada);
    let ada_id = text(&service("GET", &format!("/v1/service/users/by-email/{email}"), Value::Null), "/user/id");
    service("PUT", &format!("/v1/service/users/{ada_id}/external-id"), json!({"external_id": "crm-7"}));
    service("GET", "/v1/service/users/by-external-id/crm-7", Value::Null);
    service("GET", &format!("/v1/service/users/{ada_id}"), Value::Null);
    service("GET", &format!("/v1/service/users/{ada_id}/factors"), Value::Null);
    service("GET", &format!("/v1/service/users/{ada_id}/sessions"), Value::Null);
    let location = json!({"country": "DE", "region": "Bavaria", "city": "Munich"});
    let signed_in = json!({"ip": "203.0.113.5", "user_agent": BROWSER, "device_id": null, "location": location});
    service("POST", &format!("/v1/service/users/{ada_id}/sessions"), signed_in.clone());
    service("POST", &format!("/v1/service/users/{product_user}/sessions"), signed_in.clone());
    let session = service("POST", &format!("/v1/service/users/{product_user}/sessions"), signed_in);
    let session_id = text(&session, "/id");
    service("DELETE", &format!("/v1/service/users/{product_user}/sessions/{session_id}"), Value::Null);
    service("POST", &format!("/v1/service/users/{product_user}/revoke-sessions"), Value::Null);
    service("POST", &format!("/v1/service/users/{ada_id}/challenge"), Value::Null);
    service("POST", &format!("/v1/service/users/{ada_id}/reset-second-factor"), Value::Null);
    service("DELETE", &format!("/v1/service/users/{ada_id}/external-id"), Value::Null);
    service("GET", "/v1/service/events?after=0&limit=100", Value::Null);
    service("GET", "/v1/service/stats", Value::Null);
    service("POST", "/v1/admin/reencrypt", json!({"limit": 500}));

    // The user's own changes and ends.
    let sessions = user("GET", "/v1/sessions", &token, Value::Null);
    let other = sessions["sessions"].as_array().unwrap().iter().find(|s| s["current"] == false).unwrap()["id"].clone();
    user("DELETE", &format!("/v1/sessions/{}", other.as_str().unwrap()), &token, Value::Null);
    user("POST", "/v1/sessions/revoke-others", &token, Value::Null);
    let body = json!({"current_password": PASSWORD, "new_password": "a new and longer passphrase"});
    user("POST", "/v1/password", &token, body);
    user("DELETE", &format!("/v1/mfa/totp/{totp_id}"), &token, Value::Null);
    user("DELETE", &format!("/v1/mfa/sms/{phone_id}"), &token, Value::Null);
    // A second passkey, removed by itself; withdrawing the passkey consent removes the first.
    let body = with_consent(app, "webauthn", r#"{"name": "Spare key"}"#);
    let options = user("POST", "/v1/mfa/webauthn/options", &token, serde_json::from_str(&body).unwrap());
    let spare = registration(&authenticator(Algorithm::EdDsa, 2), &ceremony(&options["publicKey"]));
    let spare_id = text(&user("POST", "/v1/mfa/webauthn", &token, json!({"credential": spare})), "/id");
    user("DELETE", &format!("/v1/mfa/webauthn/{spare_id}"), &token, Value::Null);
    let withdrawn = user("DELETE", "/v1/consents/webauthn", &token, Value::Null);
    assert_eq!(withdrawn["factors_removed"], json!([passkey_id]), "{withdrawn}");
    user("GET", "/v1/account/export", &token, Value::Null);
    user("POST", "/v1/sessions/revoke-all", &token, Value::Null);
    let new_credentials = json!({"email": ada, "password": "a new and longer passphrase"});
    token = text(&call("POST", "/v1/login", None, new_credentials.clone()), "/token");
    user("DELETE", "/v1/session", &token, Value::Null);
    token = text(&call("POST", "/v1/login", None, new_credentials), "/token");
    user("DELETE", "/v1/account", &token, Value::Null);

    // The support's recovery of a user who lost their factor.
    call("POST", "/v1/register", None, json!({"email": "bo@example.com", "password": PASSWORD}));
    let bo = text(&call("POST", "/v1/login", None, json!({"email": "bo@example.com", "password": PASSWORD})), "/token");
    let started = user("POST", "/v1/mfa/totp", &bo, serde_json::from_str(&with_consent(app, "totp", "")).unwrap());
    let secret = secret_of(&text(&started, "/otpauth_uri"));
    user("POST", &format!("/v1/mfa/totp/{}/confirm", text(&started, "/id")), &bo, json!({"code": totp(&secret, now)}));
    let bo_id = text(&service("GET", "/v1/service/users/by-email/bo%40example.com", Value::Null), "/user/id");
    let body = json!({"operator": "support-7", "reason": "lost phone, ticket 4711"});
    service("POST", &format!("/v1/service/users/{bo_id}/second-factor-recovery"), body);
}

/// The user agent the walk's requests send.
const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";

/// `text` with `@` percent-encoded, as a path segment.
fn url_encoded(text: &str) -> String {
    text.replace('@', "%40")
}

#[test]
fn every_example_of_the_api_document_has_the_shape_of_a_real_answer() {
    let document: Value = serde_json::from_str(
        &std::fs::read_to_string(mfa_e2e::workspace_dir().join("components/api/openapi.json")).unwrap(),
    )
    .unwrap();
    let twilio = FakeTwilio::start();
    let variables = twilio.variables();
    let variables: Vec<(&str, &str)> = variables.iter().map(|(name, value)| (*name, value.as_str())).collect();
    let app = TestApp::migrated(Backend::Sqlite, &variables);
    let ((), exchanges) = recorded(|| walk(&app, &twilio));
    let templates = templates(&document);
    let seen = by_operation(&templates, &exchanges);

    if std::env::var_os("MFA_PROPOSE_EXAMPLES").is_some() {
        let proposals: BTreeMap<String, &Value> = seen
            .iter()
            .filter_map(|(((method, path), status), values)| {
                Some((format!("{} {path} {status}", method.to_ascii_uppercase()), values.first()?))
            })
            .collect();
        let file = mfa_e2e::paths::target_dir().join("openapi-examples.json");
        std::fs::write(&file, serde_json::to_string_pretty(&proposals).unwrap()).unwrap();
        eprintln!("proposed examples written to {}", file.display());
    }

    let (mut problems, examples) = (Vec::new(), examples(&document));
    for (op, status) in json_places(&document) {
        let described = examples.iter().any(|(o, s, _)| *o == op && *s == status);
        if !described {
            problems.push(format!("{} {} {status}: no example", op.0.to_ascii_uppercase(), op.1));
        }
        if !seen.contains_key(&(op.clone(), status.clone())) {
            problems.push(format!("{} {} {status}: the walk never got this answer", op.0.to_ascii_uppercase(), op.1));
        }
    }
    for (op, place, example) in examples {
        let name = format!("{} {} {place}", op.0.to_ascii_uppercase(), op.1);
        let Some(real) = seen.get(&(op.clone(), place.clone())) else {
            problems.push(format!("{name}: the walk has no real one to compare with"));
            continue;
        };
        let found: Vec<String> = real.iter().filter_map(|given| mismatch(&example, given, "$")).collect();
        if found.len() == real.len() {
            problems.push(format!("{name}: {}", found.join(" | ")));
        }
    }
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
}
