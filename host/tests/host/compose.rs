//! `[component.X.dependencies]`: the `composed` fixture imports `mfa:core/otp@0.1.0`, which only this project's
//! mfa-core component (composed in at load time) provides.

use std::path::{Path, PathBuf};

use super::{Host, fixture, scratch, startup_error};

fn composed_fixture() -> PathBuf {
    fixture().with_file_name("composed.wasm")
}

fn mfa_core() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/wasm32-wasip2/release/mfa_core.wasm")
}

/// A manifest routing everything to the composed fixture with the given dependency table entries.
fn manifest(dir: &Path, component_extra: &str, dependencies: &str) -> PathBuf {
    let text = format!(
        "spin_manifest_version = 2\n[application]\nname = \"composed\"\n\
         [[trigger.http]]\nroute = \"/...\"\ncomponent = \"web\"\n\
         [component.web]\nsource = \"{}\"\n{component_extra}\n[component.web.dependencies]\n{dependencies}\n",
        composed_fixture().display()
    );
    let path = dir.join("spin.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_dependency_is_composed_in_and_serves_its_imports() {
    let dir = scratch("compose");
    let core = mfa_core().display().to_string();
    // By interface, and by whole package: both wire the same import.
    for name in ["mfa:core/otp@0.1.0", "mfa:core"] {
        let host = Host::start(&manifest(&dir, "", &format!("\"{name}\" = {{ path = \"{core}\" }}")), &[], &[]);
        // RFC 4226 appendix D, counters 0 and 9, computed by mfa-core inside the composed component.
        assert_eq!(host.get("/hotp?counter=0", &[]), (200, "755224".to_owned()), "{name}");
        assert_eq!(host.get("/hotp?counter=9", &[]), (200, "520489".to_owned()), "{name}");
    }
    // Another component of the app, by id.
    let text =
        std::fs::read_to_string(manifest(&dir, "", "\"mfa:core/otp@0.1.0\" = { component = \"core\" }")).unwrap();
    std::fs::write(dir.join("spin.toml"), format!("{text}[component.core]\nsource = \"{core}\"\n")).unwrap();
    let host = Host::start(&dir.join("spin.toml"), &[], &[]);
    assert_eq!(host.get("/hotp?counter=1", &[]), (200, "287082".to_owned()));
}

#[test]
fn composition_errors_name_the_dependency_and_the_import() {
    let dir = scratch("compose-errors");
    let echo = fixture().display().to_string();
    let core = mfa_core().display().to_string();

    // The echo fixture imports variables, outbound HTTP, Redis, Postgres and SQLite: refused unless inherited.
    let error = startup_error(&manifest(&dir, "", &format!("\"mfa:core/otp@0.1.0\" = {{ path = \"{echo}\" }}")));
    assert!(error.contains("dependency \"mfa:core/otp@0.1.0\" imports \""), "{error}");
    assert!(error.contains("a capability it does not inherit"), "{error}");
    // Inheriting, it passes that check, and then lacks the export.
    let inherited = format!("\"mfa:core/otp@0.1.0\" = {{ path = \"{echo}\", inherit_configuration = true }}");
    let error = startup_error(&manifest(&dir, "", &inherited));
    assert!(error.contains("does not export \"mfa:core/otp@0.1.0\""), "{error}");
    let error = startup_error(&manifest(
        &dir,
        "dependencies_inherit_configuration = true",
        &format!("\"mfa:core/otp@0.1.0\" = {{ path = \"{echo}\" }}"),
    ));
    assert!(error.contains("does not export"), "{error}");

    // A name that matches no import, a version that differs, and two names for one import.
    let error = startup_error(&manifest(&dir, "", &format!("\"mfa:session\" = {{ path = \"{core}\" }}")));
    assert!(error.contains("dependency \"mfa:session\" does not match any import"), "{error}");
    let error = startup_error(&manifest(&dir, "", &format!("\"mfa:core@0.2.0\" = {{ path = \"{core}\" }}")));
    assert!(error.contains("does not match any import"), "{error}");
    let error = startup_error(&manifest(
        &dir,
        "",
        &format!("\"mfa:core\" = {{ path = \"{core}\" }}\n\"mfa:core/otp\" = {{ path = \"{core}\" }}"),
    ));
    assert!(error.contains("import \"mfa:core/otp@0.1.0\" is satisfied by more than one dependency"), "{error}");
    // An export of the wrong type.
    let error = startup_error(&manifest(
        &dir,
        "",
        &format!("\"mfa:core/otp@0.1.0\" = {{ path = \"{core}\", export = \"mfa:core/qr@0.1.0\" }}"),
    ));
    assert!(error.contains("is not compatible with import"), "{error}");
}
