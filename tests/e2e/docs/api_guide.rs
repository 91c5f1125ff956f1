//! `docs/api-guide.md` is generated from the OpenAPI document between its two markers: every operation, grouped
//! by task (the document's tags, in their order), with what it needs, its parameters, its request and answer
//! examples (the examples [`crate::api`]'s walk checks against the running app) and its error codes. The test
//! fails when the guide is not what the document gives; `MFA_WRITE_DOCS=1` writes it.

use serde_json::Value;

const GUIDE: &str = "docs/api-guide.md";
const BEGIN: &str = "<!-- BEGIN GENERATED from components/api/openapi.json: edit the document, then run \
                     `MFA_WRITE_DOCS=1 cargo test -p mfa-e2e --test e2e docs::` -->";
const END: &str = "<!-- END GENERATED -->";
const METHODS: &[&str] = &["get", "post", "put", "patch", "delete"];

/// A GitHub heading anchor for `heading`.
fn anchor(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// `value` followed by `pointer` through `$ref`s of `document`.
fn resolved<'a>(document: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => resolved(document, document.pointer(reference.trim_start_matches('#')).unwrap()),
        None => value,
    }
}

/// Who may call an operation.
fn caller(operation: &Value) -> &'static str {
    let security = operation["security"].to_string();
    if security.contains("serviceApiKey") {
        "the service API key (`Authorization: Bearer <api_key>`)"
    } else if security.contains("bearerSession") {
        "a session: `Authorization: Bearer <token>`, or the `__Host-mfa_session` cookie with `X-CSRF-Token` on \
         changes"
    } else {
        "nothing (public)"
    }
}

/// A JSON example as a fenced block.
fn example_block(example: &Value) -> String {
    format!("```json\n{}\n```\n", serde_json::to_string_pretty(example).unwrap())
}

/// One operation's section.
fn operation_section(document: &Value, method: &str, path: &str, operation: &Value) -> String {
    let mut out = format!("### `{} {path}`\n\n", method.to_ascii_uppercase());
    let summary = operation["summary"].as_str().unwrap_or_default();
    out.push_str(&format!("**{summary}.** {}\n\n", operation["description"].as_str().unwrap_or_default()));
    out.push_str(&format!("Needs {}.\n\n", caller(operation)));
    if let Some(parameters) = operation["parameters"].as_array() {
        for parameter in parameters.iter().map(|p| resolved(document, p)) {
            out.push_str(&format!(
                "- `{}` ({}{}): {}\n",
                parameter["name"].as_str().unwrap_or_default(),
                parameter["in"].as_str().unwrap_or_default(),
                if parameter["required"] == true { ", required" } else { "" },
                parameter["description"].as_str().unwrap_or_default()
            ));
        }
        out.push('\n');
    }
    if let Some(body) = operation.get("requestBody") {
        let media: Vec<&String> = body["content"].as_object().unwrap().keys().collect();
        let media: Vec<String> = media.iter().map(|m| format!("`{m}`")).collect();
        let optional = if body["required"] == true { "" } else { ", optional" };
        out.push_str(&format!("Request body ({}{optional}):\n\n", media.join(" or ")));
        match body.pointer("/content/application~1json/example") {
            Some(example) => out.push_str(&example_block(example)),
            None => out.push_str("(no example)\n"),
        }
        out.push('\n');
    }
    let responses = operation["responses"].as_object().unwrap();
    let mut statuses: Vec<&String> = responses.keys().collect();
    statuses.sort();
    let mut errors = Vec::new();
    for status in statuses {
        let response = resolved(document, &responses[status]);
        let description = response["description"].as_str().unwrap_or_default();
        if status.starts_with('2') {
            let media: Vec<String> = response["content"]
                .as_object()
                .map(|c| c.keys().map(|m| format!("`{m}`")).collect())
                .unwrap_or_default();
            out.push_str(&format!("Answer `{status}` ({}): {description}\n\n", media.join(", ")));
            if let Some(example) = response.pointer("/content/application~1json/example") {
                out.push_str(&example_block(example));
                out.push('\n');
            }
        } else {
            let codes: Vec<String> = response["x-error-codes"]
                .as_array()
                .map(|codes| codes.iter().map(|c| format!("`{}`", c.as_str().unwrap_or_default())).collect())
                .unwrap_or_default();
            errors.push(format!("`{status}` {}", codes.join(", ")));
        }
    }
    if !errors.is_empty() {
        out.push_str(&format!("Errors: {}.\n\n", errors.join("; ")));
    }
    out
}

/// A tag's heading: its display name, else its name.
fn heading(tag: &Value) -> &str {
    tag["x-displayName"].as_str().or_else(|| tag["name"].as_str()).unwrap()
}

/// The generated part of the guide.
fn generated(document: &Value) -> String {
    let tags = document["tags"].as_array().unwrap();
    let in_tag = |name: &str| -> Vec<(String, String, Value)> {
        let mut found = Vec::new();
        for (path, item) in document["paths"].as_object().unwrap() {
            for method in METHODS {
                if let Some(operation) = item.get(*method)
                    && operation["tags"][0] == name
                {
                    found.push(((*method).to_owned(), path.clone(), operation.clone()));
                }
            }
        }
        found
    };
    let mut out = String::from("## Tasks\n\n");
    for tag in tags {
        let operations = in_tag(tag["name"].as_str().unwrap());
        let names: Vec<String> =
            operations.iter().map(|(m, p, _)| format!("`{} {p}`", m.to_ascii_uppercase())).collect();
        out.push_str(&format!("- [{}](#{}): {}\n", heading(tag), anchor(heading(tag)), names.join(", ")));
    }
    for tag in tags {
        out.push_str(&format!("\n## {}\n\n{}\n\n", heading(tag), tag["description"].as_str().unwrap_or_default()));
        for (method, path, operation) in in_tag(tag["name"].as_str().unwrap()) {
            out.push_str(&operation_section(document, &method, &path, &operation));
        }
    }
    out.trim_end().to_owned()
}

#[test]
fn the_api_guide_is_generated_from_the_openapi_document_and_covers_every_operation() {
    let document = super::openapi();
    let tagged: usize = document["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| METHODS.iter().filter_map(|m| item.get(*m)))
        .filter(|operation| {
            let tag = &operation["tags"][0];
            document["tags"].as_array().unwrap().iter().any(|t| t["name"] == *tag)
        })
        .count();
    let all: usize = document["paths"].as_object().unwrap().values().map(|item| item.as_object().unwrap().len()).sum();
    assert_eq!(tagged, all, "every operation has a tag the document lists");

    let text = super::read(GUIDE);
    let (head, rest) = text.split_once(BEGIN).unwrap_or_else(|| panic!("{GUIDE} lacks the marker {BEGIN}"));
    let (_, tail) = rest.split_once(END).unwrap_or_else(|| panic!("{GUIDE} lacks the marker {END}"));
    let expected = format!("{head}{BEGIN}\n\n{}\n\n{END}{tail}", generated(&document));
    if super::rewriting() {
        std::fs::write(mfa_e2e::workspace_dir().join(GUIDE), &expected).unwrap();
        return;
    }
    assert!(text == expected, "{GUIDE} is not what the OpenAPI document gives: run MFA_WRITE_DOCS=1 cargo test ...");
}
