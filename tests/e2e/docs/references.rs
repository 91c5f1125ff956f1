//! What the documents name exists: every endpoint written as `` `METHOD /path` `` in `docs/`, `deploy/` and the
//! README is an operation of the OpenAPI document (or one of mfa-host's own), and every test cited as
//! `` `file.rs::function` `` is a function of that file.

use mfa_e2e::workspace_dir;

use crate::support::fits_template;

/// Endpoints mfa-host answers itself (`--admin-listen`), not the app.
const HOST_ENDPOINTS: &[(&str, &str)] = &[("GET", "/metrics")];

/// The Markdown files to check: the README and everything under `docs/` and `deploy/`.
fn documents() -> Vec<String> {
    let mut found = vec!["README.md".to_owned()];
    let mut folders = vec!["docs".to_owned(), "deploy".to_owned()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(workspace_dir().join(&folder)) else { continue };
        for entry in entries.map(Result::unwrap) {
            let name = format!("{folder}/{}", entry.file_name().to_string_lossy());
            if entry.file_type().unwrap().is_dir() {
                folders.push(name);
            } else if name.ends_with(".md") {
                found.push(name);
            }
        }
    }
    found.sort();
    found
}

/// The text between backticks in `text` (inline code spans; fenced blocks' lines are skipped).
fn code_spans(text: &str) -> Vec<String> {
    let mut spans = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            spans.extend(line.split('`').skip(1).step_by(2).map(str::to_owned));
        }
    }
    spans
}

#[test]
fn every_endpoint_and_test_the_documents_name_exists() {
    let document = super::openapi();
    let operations: Vec<(String, String)> = document["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| item.as_object().unwrap().keys().map(|m| (m.to_ascii_uppercase(), path.clone())))
        .chain(HOST_ENDPOINTS.iter().map(|(m, p)| ((*m).to_owned(), (*p).to_owned())))
        .collect();
    let (mut problems, mut checked) = (Vec::new(), 0);
    for name in documents() {
        for span in code_spans(&super::read(&name)) {
            if let Some((method, rest)) = span.split_once(' ')
                && ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method)
                && rest.starts_with('/')
            {
                // What follows the path (a body, say) is not part of it.
                let path = rest.split(' ').next().unwrap_or(rest);
                checked += 1;
                if !operations.iter().any(|(m, template)| m == method && fits_template(template, path)) {
                    problems.push(format!("{name}: `{span}` is no operation"));
                }
            }
            if let Some((file, function)) = span.split_once(".rs::") {
                checked += 1;
                let source = std::fs::read_to_string(workspace_dir().join(format!("{file}.rs"))).unwrap_or_default();
                if !source.contains(&format!("fn {function}(")) {
                    problems.push(format!("{name}: `{span}` names no function of {file}.rs"));
                }
            }
        }
    }
    assert!(checked > 50, "the references were found ({checked})");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
