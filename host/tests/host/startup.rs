//! `mfa-host up --startup-request METHOD PATH [--startup-bearer-variable NAME]`: one request the host sends to the
//! app before it announces itself; without the option it sends none.

use std::path::Path;

use super::{Host, failed_startup, manifest, scratch};

/// The options `./scripts/serve` passes for this project's app.
const MIGRATE: [&str; 5] = ["--startup-request", "POST", "/v1/admin/migrate", "--startup-bearer-variable", "api_key"];

#[test]
fn the_projects_app_is_migrated_before_the_banner_when_asked() {
    let dir = scratch("project-app");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join("spin.toml")).unwrap();
    let text = text.replace("\"target/", &format!("\"{}/target/", root.display()));
    std::fs::write(dir.join("spin.toml"), text).unwrap();
    let spin = dir.join("spin.toml");
    let key = [("SPIN_VARIABLE_API_KEY", "test-key")];

    // The host knows nothing of the app's endpoints: without the option, a fresh database stays unmigrated.
    let _ = std::fs::remove_dir_all(dir.join(".spin"));
    let host = Host::start(&spin, &key, &[]);
    let (status, body) = host.get("/readyz", &[]);
    assert_ne!(status, 200, "{body}");
    drop(host);

    // The banner came after the startup request: the app is ready at once.
    let host = Host::start(&spin, &key, &MIGRATE);
    let (status, body) = host.get("/readyz", &[]);
    assert_eq!(status, 200, "{body}");
    drop(host);

    // A startup request the app refuses stops startup with the app's answer.
    let env = [key[0], ("SPIN_VARIABLE_STORAGE", "redis-postgres"), ("SPIN_VARIABLE_POSTGRES_PORT", "1")];
    let error = failed_startup(&spin, &env, &MIGRATE);
    assert!(error.contains("POST /v1/admin/migrate answered 503") && error.contains("migration_failed"), "{error}");
}

#[test]
fn a_bad_startup_request_stops_startup_naming_it() {
    let dir = scratch("startup-request");
    let spin = manifest(&dir, "/echo/...", "token = { default = \"t0k\" }", "");

    let error = failed_startup(&spin, &[], &["--startup-request", "GET", "/elsewhere"]);
    assert!(error.contains("GET /elsewhere answered 404 Not Found") && error.contains("not_found"), "{error}");

    let error = failed_startup(&spin, &[], &["--startup-request", "GET", "/echo", "--startup-bearer-variable", "nope"]);
    assert!(error.contains("--startup-bearer-variable") && error.contains("\"nope\""), "{error}");

    let error = failed_startup(&spin, &[], &["--startup-request", "GET", "echo"]);
    assert!(error.contains("--startup-request") && error.contains("must start with `/`"), "{error}");

    // An answer in 2xx lets the host announce itself.
    let host = Host::start(&spin, &[], &["--startup-request", "GET", "/echo", "--startup-bearer-variable", "token"]);
    assert_eq!(host.get("/echo", &[]).0, 200);
}
