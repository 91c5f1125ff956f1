//! The documentation that can be checked, each against what it describes: `docs/configuration.md` against
//! spin.toml's variables ([`configuration`]), `docs/security-events.md` against the event kinds the app records
//! ([`security_events`]), `docs/api-guide.md` against the OpenAPI document it is generated from ([`api_guide`]), and
//! every endpoint and test the documents name against the document and the test sources ([`references`]).

mod api_guide;
mod configuration;
mod references;
mod security_events;

use mfa_e2e::workspace_dir;

/// The text of `path` (relative to the workspace).
fn read(path: &str) -> String {
    std::fs::read_to_string(workspace_dir().join(path)).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// The OpenAPI document.
fn openapi() -> serde_json::Value {
    serde_json::from_str(&read("components/api/openapi.json")).unwrap()
}

/// Whether the documentation should be rewritten from what it describes (`MFA_WRITE_DOCS=1`) rather than checked.
fn rewriting() -> bool {
    std::env::var_os("MFA_WRITE_DOCS").is_some()
}
