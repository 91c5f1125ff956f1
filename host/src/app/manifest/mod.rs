//! `spin.toml` (manifest version 2), read with serde and checked as Spin checks it at load time.
//!
//! Only what this project's app uses is supported; every other key is a startup error that names it (serde's
//! `deny_unknown_fields` on every table), never silently ignored. Supported: `[application]` (`name`, `version`,
//! `description`, `authors`), `[variables.X]` (`description`, `required`, `default`, `secret`),
//! `[[trigger.http]]` (`route` as a pattern or `{ private = true }`, `component`, `id`), and `[component.X]`
//! (`source` as a local path, `description`, `allowed_outbound_hosts`, `sqlite_databases`, `variables`,
//! `build`, `dependencies` as `{ path }` or `{ component }` with optional `export` and `inherit_configuration`,
//! `dependencies_inherit_configuration`).

mod error;
mod model;
mod raw;

use std::path::{Path, PathBuf};

pub use error::ManifestError;
pub use model::{Application, Build, Component, Dependency, DependencySource, HttpTrigger, Manifest};

impl Manifest {
    /// Reads and checks the manifest at `path`; relative paths in it start from its directory ([`manifest_dir`]).
    pub fn load(path: &Path) -> Result<Self, ManifestError> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| ManifestError::Read { path: path.display().to_string(), message: error.to_string() })?;
        Self::parse(&text, manifest_dir(path))
    }

    /// Parses and checks manifest text; `dir` is the directory relative paths start from.
    pub fn parse(text: &str, dir: PathBuf) -> Result<Self, ManifestError> {
        raw::parse(text, dir)
    }
}

/// The directory of the manifest at `path`: `.` for a bare file name such as the default `spin.toml` (whose parent is
/// the empty path, which no command can run in).
pub fn manifest_dir(path: &Path) -> PathBuf {
    path.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::raw::{is_component_id, is_database_label};
    use super::*;
    use crate::app::variables::Declaration;
    use crate::app::variables::template::TemplateError;

    const GOOD: &str = r#"
spin_manifest_version = 2

[application]
name = "mfa"
version = "0.1.0"
authors = ["A <a@example.com>"]

[variables]
api_key = { required = true, secret = true }
redis_host = { default = "127.0.0.1" }

[[trigger.http]]
route = "/..."
component = "api"

[[trigger.http]]
route = { private = true }
component = "worker"

[component.api]
source = "target/wasm32-wasip2/release/api.wasm"
allowed_outbound_hosts = ["redis://{{ redis_host }}:6379"]
sqlite_databases = ["default"]
variables = { api_key = "{{ api_key }}" }
dependencies_inherit_configuration = false
[component.api.build]
command = "cargo build --target wasm32-wasip2 --release"
watch = ["src/**/*.rs"]
[component.api.dependencies]
"mfa:core/otp" = { path = "target/wasm32-wasip2/release/mfa_core.wasm" }
"mfa:session/tokens" = { component = "worker", export = "mfa:session/tokens@0.1.0", inherit_configuration = true }

[component.worker]
source = "worker.wasm"
"#;

    fn parse(text: &str) -> Result<Manifest, ManifestError> {
        Manifest::parse(text, PathBuf::from("/app"))
    }

    #[test]
    fn reads_everything_the_app_uses() {
        let manifest = parse(GOOD).unwrap();
        assert_eq!(manifest.application.name, "mfa");
        assert_eq!(manifest.variables["api_key"], Declaration { default: None, secret: true });
        assert_eq!(manifest.variables["redis_host"].default.as_deref(), Some("127.0.0.1"));
        assert_eq!(manifest.http_triggers.len(), 2);
        assert_eq!(manifest.http_triggers[0].component, "api");
        assert!(manifest.http_triggers[0].route.is_some());
        assert_eq!(manifest.http_triggers[1].route, None);
        let api = &manifest.components["api"];
        assert_eq!(api.source, PathBuf::from("target/wasm32-wasip2/release/api.wasm"));
        assert_eq!(api.sqlite_databases, ["default"]);
        assert_eq!(api.variables["api_key"].variables().collect::<Vec<_>>(), ["api_key"]);
        assert_eq!(api.build.as_ref().unwrap().commands, ["cargo build --target wasm32-wasip2 --release"]);
        assert_eq!(
            api.dependencies["mfa:core/otp"],
            Dependency {
                source: DependencySource::Path("target/wasm32-wasip2/release/mfa_core.wasm".into()),
                export: None,
                inherit_configuration: false,
            }
        );
        assert!(api.dependencies["mfa:session/tokens"].inherit_configuration);
    }

    #[test]
    fn unsupported_keys_are_named() {
        for (from, to, key) in [
            ("name = \"mfa\"", "name = \"mfa\"\ncolour = \"red\"", "colour"),
            (
                "source = \"worker.wasm\"",
                "source = \"worker.wasm\"\nkey_value_stores = [\"default\"]",
                "key_value_stores",
            ),
            ("source = \"worker.wasm\"", "source = \"worker.wasm\"\nfiles = [\"a\"]", "files"),
            ("component = \"api\"", "component = \"api\"\nexecutor = { type = \"wagi\" }", "executor"),
            ("[variables]", "[variables]\nx = { default = \"1\", sensitive = true }", "sensitive"),
            ("watch = [\"src/**/*.rs\"]", "watch = [\"src/**/*.rs\"]\nenvironment = 1", "environment"),
            (
                "[[trigger.http]]\nroute = \"/...\"",
                "[[trigger.redis]]\nchannel = \"x\"\n\n[[trigger.http]]\nroute = \"/...\"",
                "redis",
            ),
        ] {
            let text = GOOD.replacen(from, to, 1);
            assert_ne!(text, GOOD, "{from}");
            let error = parse(&text).unwrap_err().to_string();
            assert!(error.contains(&format!("unknown field `{key}`")), "{key}: {error}");
        }
    }

    #[test]
    fn semantic_errors_are_specific() {
        let cases: Vec<(String, ManifestError)> = vec![
            (GOOD.replace("spin_manifest_version = 2", "spin_manifest_version = 1"), ManifestError::UnsupportedVersion),
            (
                GOOD.replace("api_key = { required = true, secret = true }", "api_key = { secret = true }"),
                ManifestError::RequiredOrDefault("api_key".into()),
            ),
            (
                GOOD.replace(
                    "redis_host = { default = \"127.0.0.1\" }",
                    "redis_host = { default = \"x\", required = true }",
                ),
                ManifestError::RequiredOrDefault("redis_host".into()),
            ),
            (
                GOOD.replace("[component.worker]", "[component.Bad_Id]").replace("\"worker\"", "\"Bad_Id\""),
                ManifestError::InvalidComponentId("Bad_Id".into()),
            ),
            (
                GOOD.replace("component = \"worker\"", "component = \"missing\""),
                ManifestError::UnknownComponent { route: "{ private = true }".into(), component: "missing".into() },
            ),
            (GOOD.replace("{ private = true }", "{ private = false }"), ManifestError::PrivateFalse("worker".into())),
            (
                GOOD.replace("{{ redis_host }}:6379", "{{ nope }}:6379"),
                ManifestError::Template {
                    key: "component.api.allowed_outbound_hosts".into(),
                    error: TemplateError::UnknownVariable("nope".into()),
                },
            ),
            (
                GOOD.replace("sqlite_databases = [\"default\"]", "sqlite_databases = [\"Default\"]"),
                ManifestError::InvalidDatabaseLabel { component: "api".into(), label: "Default".into() },
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(&text), Err(expected));
        }
        assert!(matches!(
            parse(&GOOD.replace("source = \"worker.wasm\"", "source = { url = \"https://x\", digest = \"sha256:0\" }")),
            Err(ManifestError::Unsupported { key, .. }) if key == "component.worker.source"
        ));
        assert!(matches!(
            parse(&GOOD.replace("{ path = \"target/wasm32-wasip2/release/mfa_core.wasm\" }", "\">= 0.1\"")),
            Err(ManifestError::Dependency { name, .. }) if name == "mfa:core/otp"
        ));
        assert!(matches!(
            parse(&GOOD.replace(
                "{ path = \"target/wasm32-wasip2/release/mfa_core.wasm\" }",
                "{ path = \"a\", component = \"worker\" }"
            )),
            Err(ManifestError::Dependency { .. })
        ));
        assert!(matches!(parse("not toml ["), Err(ManifestError::Toml(_))));
        assert!(matches!(
            parse(&GOOD.replace("route = \"/...\"", "route = \"/a/.../b\"")),
            Err(ManifestError::Route { .. })
        ));
    }

    #[test]
    fn missing_file_is_a_read_error() {
        assert!(matches!(Manifest::load(Path::new("/nonexistent/spin.toml")), Err(ManifestError::Read { .. })));
    }

    #[test]
    fn a_bare_file_name_is_in_the_current_directory() {
        assert_eq!(manifest_dir(Path::new("spin.toml")), Path::new("."));
        assert_eq!(manifest_dir(Path::new("app/spin.toml")), Path::new("app"));
        assert_eq!(manifest_dir(Path::new("/app/spin.toml")), Path::new("/app"));
    }

    #[test]
    fn component_ids_and_labels() {
        for good in ["api", "mfa-core", "API", "a1-B2"] {
            assert!(is_component_id(good), "{good}");
        }
        for bad in ["", "-a", "a-", "a--b", "1a", "aB", "a_b", "a.b"] {
            assert!(!is_component_id(bad), "{bad}");
        }
        assert!(is_database_label("default") && is_database_label("my_db-2"));
        assert!(!is_database_label("") && !is_database_label("2db") && !is_database_label("My"));
    }
}
