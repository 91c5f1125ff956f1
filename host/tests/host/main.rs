//! End-to-end tests of `mfa-host up`: the real binary serving the `echo` fixture (spin-sdk 5.2, built by
//! `./scripts/test` into `host/tests/fixtures/target/`) over real TCP, with a plain HTTP/1.1 client.

// Test code: a failed `unwrap`/index IS the test failing, with a clear panic message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod build;
mod compose;
mod deploy_examples;
mod limits;
mod postgres;
mod reuse;
#[path = "../../../tests/servers/mod.rs"]
mod servers;
mod startup;
mod tls;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The fixture component, built by the test command.
fn fixture() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/target/wasm32-wasip2/release/echo.wasm");
    assert!(
        path.is_file(),
        "{} is missing: build it with `cargo build --locked --release --target wasm32-wasip2 \
         --manifest-path host/tests/fixtures/Cargo.toml` (./scripts/test does)",
        path.display()
    );
    path
}

/// A fresh directory for one test's manifest.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mfa-host-test-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A manifest serving the fixture at `route`, with the given extra component keys.
fn manifest(dir: &Path, route: &str, variables: &str, component_extra: &str) -> PathBuf {
    let text = format!(
        "spin_manifest_version = 2\n[application]\nname = \"test\"\n[variables]\n{variables}\n\
         [[trigger.http]]\nroute = \"{route}\"\ncomponent = \"echo\"\n\
         [component.echo]\nsource = \"{}\"\n{component_extra}\n",
        fixture().display()
    );
    let path = dir.join("spin.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A running `mfa-host up`, stopped (SIGKILL) when dropped unless already waited for.
struct Host {
    child: Child,
    port: u16,
    /// The rest of the banner; kept open so the host can go on printing.
    stdout: BufReader<std::process::ChildStdout>,
}

impl Host {
    fn start(manifest: &Path, env: &[(&str, &str)], args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mfa-host"))
            .args(["up", "--listen", "127.0.0.1:0", "--from"])
            .arg(manifest)
            .args(args)
            .envs(env.iter().copied())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let port = line
            .trim()
            .strip_prefix("Serving http://127.0.0.1:")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .unwrap();
        Self { child, port, stdout }
    }

    fn get(&self, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
        request(self.port, path, headers)
    }

    /// Reads banner lines until one starts with `prefix`; returns the rest of it.
    fn banner_line(&mut self, prefix: &str) -> String {
        loop {
            let mut line = String::new();
            assert!(self.stdout.read_line(&mut line).unwrap() > 0, "no banner line starting {prefix:?}");
            if let Some(rest) = line.trim().strip_prefix(prefix) {
                return rest.to_owned();
            }
        }
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends one GET and returns the status and the (de-chunked) body.
fn request(port: u16, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut text = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    stream.write_all(text.as_bytes()).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let response = String::from_utf8(response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let chunked = head.to_ascii_lowercase().contains("transfer-encoding: chunked");
    (status, if chunked { dechunk(body) } else { body.to_owned() })
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    loop {
        let (size, rest) = body.split_once("\r\n").unwrap();
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
}

/// The `[name, value]` pairs the fixture saw, in order.
fn echoed_headers(body: &str) -> Vec<(String, String)> {
    // The fixture answers {"headers":[["name","value"],...],...}; pull the pairs out without a JSON crate.
    let list = body.split_once("\"headers\":[").unwrap().1;
    let list = &list[..list.find("]]").map_or(0, |end| end + 1)];
    list.split("],[")
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let parts: Vec<&str> = pair.trim_matches(|c| c == '[' || c == ']').split("\",\"").collect();
            (parts[0].trim_matches('"').to_owned(), parts[1].trim_matches('"').to_owned())
        })
        .collect()
}

/// The status and error code of an answer the host made itself (a JSON error body).
fn refusal((status, body): (u16, String)) -> (u16, String) {
    let parsed: serde_json::Value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("not a JSON error body ({e}): {body:?}"));
    (status, parsed["error"]["code"].as_str().unwrap_or_else(|| panic!("no error code: {body}")).to_owned())
}

fn values<'a>(headers: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    headers.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_str()).collect()
}

#[test]
fn routes_and_spin_headers_as_spin_sets_them() {
    let dir = scratch("headers");
    let host = Host::start(&manifest(&dir, "/echo/:item_id/...", "", ""), &[], &[]);
    let (status, body) = host.get("/echo/42/rest/of?x=1", &[("spin-client-addr", "6.6.6.6:1")]);
    assert_eq!(status, 200, "{body}");
    let headers = echoed_headers(&body);
    // A forged client address stays, but the host's real one comes after it: the last value is the truth.
    let addresses = values(&headers, "spin-client-addr");
    assert_eq!(addresses.len(), 2, "{headers:?}");
    assert_eq!(addresses[0], "6.6.6.6:1");
    assert!(addresses[1].starts_with("127.0.0.1:"), "{addresses:?}");
    assert_eq!(values(&headers, "spin-path-info"), ["/rest/of"]);
    assert_eq!(values(&headers, "spin-full-url"), [format!("http://127.0.0.1:{}/echo/42/rest/of?x=1", host.port)]);
    assert_eq!(values(&headers, "spin-matched-route"), ["/echo/:item_id/..."]);
    assert_eq!(values(&headers, "spin-raw-component-route"), ["/echo/:item_id/..."]);
    assert_eq!(values(&headers, "spin-component-route"), ["/echo/:item_id"]);
    assert_eq!(values(&headers, "spin-base-path"), ["/"]);
    assert_eq!(values(&headers, "spin-path-match-item-id"), ["42"]);

    // No route: 404 with a JSON error. Spin's health endpoint answers whatever the routes.
    assert_eq!(refusal(host.get("/other", &[])), (404, "not_found".to_owned()));
    assert_eq!(host.get("/.well-known/spin/health", &[]), (200, "OK".to_owned()));
    assert_eq!(host.get("/.well-known/spin/other", &[]).0, 404);
}

#[test]
fn variables_come_from_the_environment_then_defaults_and_are_per_component() {
    let dir = scratch("variables");
    let path = manifest(
        &dir,
        "/...",
        "greeting = { default = \"hello\" }\nsecret_key = { required = true }\nunlisted = { default = \"x\" }",
        "variables = { greeting = \"{{ greeting }}!\", key = \"{{ secret_key }}\" }",
    );
    let host = Host::start(&path, &[("SPIN_VARIABLE_SECRET_KEY", "s3cret")], &[]);
    assert_eq!(host.get("/var/greeting", &[]), (200, "hello!".to_owned()));
    assert_eq!(host.get("/var/key", &[]), (200, "s3cret".to_owned()));
    let (status, body) = host.get("/var/unlisted", &[]);
    assert_eq!(status, 500);
    assert!(body.contains("Undefined(\"no variable for \\\"echo\\\".\\\"unlisted\\\"\")"), "{body}");
    let (status, body) = host.get("/var/BAD", &[]);
    assert_eq!(status, 500);
    assert!(body.contains("InvalidName"), "{body}");
    drop(host);

    let host = Host::start(&path, &[("SPIN_VARIABLE_SECRET_KEY", "k"), ("SPIN_VARIABLE_GREETING", "hi")], &[]);
    assert_eq!(host.get("/var/greeting", &[]), (200, "hi!".to_owned()));
}

/// Runs `mfa-host up` expecting it to fail at startup; returns its stderr.
fn startup_error(manifest: &Path) -> String {
    failed_startup(manifest, &[], &[])
}

/// Runs `mfa-host up` with `env` and `args`, expecting it to fail at startup; returns its stderr.
fn failed_startup(manifest: &Path, env: &[(&str, &str)], args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_mfa-host"))
        .args(["up", "--listen", "127.0.0.1:0", "--from"])
        .arg(manifest)
        .args(args)
        .env_remove("SPIN_VARIABLE_SECRET_KEY")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(!output.status.success(), "startup should fail");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn startup_errors_name_what_is_wrong() {
    let dir = scratch("startup");
    let error = startup_error(&manifest(&dir, "/...", "secret_key = { required = true }", ""));
    assert!(error.contains("secret_key") && error.contains("SPIN_VARIABLE_SECRET_KEY"), "{error}");

    let error = startup_error(&manifest(&dir, "/...", "", "key_value_stores = [\"default\"]"));
    assert!(error.contains("unknown field `key_value_stores`"), "{error}");

    let error = startup_error(&manifest(&dir, "/...", "", "allowed_outbound_hosts = [\"ftp://h\"]"));
    assert!(error.contains("allowed_outbound_hosts"), "{error}");

    // A component that is not an HTTP component (here the pure mfa-core component) is refused by name.
    let mfa_core = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/wasm32-wasip2/release/mfa_core.wasm");
    let text = std::fs::read_to_string(manifest(&dir, "/...", "", "")).unwrap();
    let text = text.replace(&fixture().display().to_string(), &mfa_core.display().to_string());
    std::fs::write(dir.join("spin.toml"), text).unwrap();
    let error = startup_error(&dir.join("spin.toml"));
    assert!(error.contains("does not export wasi:http/incoming-handler"), "{error}");
}

/// A one-shot HTTP server on loopback answering `hello`.
fn upstream() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer);
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
        }
    });
    port
}

#[test]
fn outbound_http_only_to_allowed_hosts() {
    let port = upstream();
    let dir = scratch("outbound");
    let allowed = format!("allowed_outbound_hosts = [\"http://127.0.0.1:{port}\"]");
    let host = Host::start(&manifest(&dir, "/...", "", &allowed), &[], &[]);
    let (status, body) = host.get(&format!("/outbound?url=http%3A%2F%2F127.0.0.1%3A{port}%2F"), &[]);
    assert_eq!((status, body.as_str()), (200, "status: 200\nhello"));
    // Another port of the same host is not allowed: Spin's error code reaches the guest, nothing is sent.
    let (status, body) = host.get("/outbound?url=http%3A%2F%2F127.0.0.1%3A9%2F", &[]);
    assert_eq!(status, 502);
    assert!(body.contains("HttpRequestDenied"), "{body}");
}

#[test]
fn a_failing_guest_gets_500_or_504_and_the_host_keeps_serving() {
    let dir = scratch("failures");
    let host = Host::start(&manifest(&dir, "/...", "", ""), &[], &["--timeout-secs", "1", "--memory-mib", "32"]);
    assert_eq!(refusal(host.get("/trap", &[])), (500, "internal_error".to_owned()));
    assert_eq!(host.get("/echo", &[]).0, 200);
    let started = Instant::now();
    assert_eq!(refusal(host.get("/spin", &[])), (504, "timeout".to_owned()));
    assert!(started.elapsed() < Duration::from_secs(20));
    // Waiting inside a host call (here a sleep, a poll on the host's clock) is stopped too: 504, not "slept".
    assert_eq!(refusal(host.get("/sleep?ms=8000", &[])), (504, "timeout".to_owned()));
    assert_eq!(host.get("/alloc?mb=8", &[]).0, 200);
    assert_eq!(refusal(host.get("/alloc?mb=64", &[])), (500, "internal_error".to_owned()));
    assert_eq!(host.get("/echo", &[]).0, 200);
}

/// Sends a GET from another thread; join to get the answer.
fn get_in_background(port: u16, path: &'static str) -> std::thread::JoinHandle<(u16, String)> {
    std::thread::spawn(move || request(port, path, &[]))
}

#[test]
fn requests_beyond_the_instance_cap_wait_then_get_503() {
    let dir = scratch("queue");
    let host =
        Host::start(&manifest(&dir, "/...", "", ""), &[], &["--max-instances", "1", "--queue-timeout-ms", "300"]);
    let slow = get_in_background(host.port, "/sleep?ms=2000");
    std::thread::sleep(Duration::from_millis(500));
    // The one instance is busy: this request queues past its 300 ms, then is refused.
    assert_eq!(refusal(host.get("/hello", &[])), (503, "overloaded".to_owned()));
    assert_eq!(slow.join().unwrap(), (200, "slept 2000 ms".to_owned()));
    // A request that finds the slot free within its wait is served.
    let slow = get_in_background(host.port, "/sleep?ms=100");
    std::thread::sleep(Duration::from_millis(30));
    assert_eq!(host.get("/hello", &[]), (200, "hello".to_owned()));
    slow.join().unwrap();
}

#[test]
fn sigterm_lets_in_flight_requests_finish() {
    let dir = scratch("drain");
    let mut host = Host::start(&manifest(&dir, "/...", "", ""), &[], &[]);
    let in_flight = get_in_background(host.port, "/sleep?ms=1000");
    std::thread::sleep(Duration::from_millis(300));
    let pid = host.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    assert_eq!(in_flight.join().unwrap(), (200, "slept 1000 ms".to_owned()));
    let status = host.child.wait().unwrap();
    assert!(status.success(), "{status}");
    // Nothing listens any more.
    assert!(TcpStream::connect(("127.0.0.1", host.port)).is_err());
}

#[test]
fn sigterm_stops_the_host_cleanly() {
    let dir = scratch("shutdown");
    let mut host = Host::start(&manifest(&dir, "/...", "", ""), &[], &[]);
    assert_eq!(host.get("/echo", &[]).0, 200);
    let pid = host.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = host.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "mfa-host did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
}

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

fn sql(host: &Host, db: &str, statement: &str, parameter: Option<&str>) -> (u16, String) {
    let mut path = format!("/sqlite?db={db}&sql={}", encode(statement));
    if let Some(parameter) = parameter {
        path.push_str(&format!("&p={}", encode(parameter)));
    }
    host.get(&path, &[])
}

#[test]
fn sqlite_default_database_lives_beside_the_manifest_and_labels_are_enforced() {
    let dir = scratch("sqlite");
    let _ = std::fs::remove_dir_all(dir.join(".spin"));
    let path = manifest(&dir, "/...", "", "sqlite_databases = [\"default\"]");
    let host = Host::start(&path, &[], &[]);
    assert_eq!(sql(&host, "default", "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)", None).0, 200);
    assert_eq!(sql(&host, "default", "INSERT INTO t (name) VALUES (?)", Some("alice")).0, 200);
    assert_eq!(sql(&host, "default", "SELECT id, name FROM t", None), (200, "id|name\n1|alice".to_owned()));
    let (status, body) = sql(&host, "other", "SELECT 1", None);
    assert_eq!((status, body.as_str()), (500, "error: Error::AccessDenied"));
    let (status, body) = sql(&host, "default", "NOT SQL", None);
    assert_eq!(status, 500);
    assert!(body.starts_with("error: Error::Io("), "{body}");
    drop(host);
    assert!(dir.join(".spin/sqlite_db.db").is_file());

    // The data outlives the host.
    let host = Host::start(&path, &[], &[]);
    assert_eq!(sql(&host, "default", "SELECT name FROM t", None), (200, "name\nalice".to_owned()));
}

#[test]
fn sqlite_databases_from_the_runtime_config() {
    let dir = scratch("runtime-config");
    let db = dir.join("elsewhere/app.db");
    let _ = std::fs::remove_file(&db);
    let config = dir.join("runtime-config.toml");
    std::fs::write(
        &config,
        format!(
            "[sqlite_database.default]\ntype = \"spin\"\npath = \"{}\"\n[sqlite_database.cache]\ntype = \"spin\"\n",
            db.display()
        ),
    )
    .unwrap();
    let path = manifest(&dir, "/...", "", "sqlite_databases = [\"default\", \"cache\"]");
    let config_arg = config.display().to_string();
    let host = Host::start(&path, &[], &["--runtime-config-file", &config_arg]);
    assert_eq!(sql(&host, "default", "CREATE TABLE d (x)", None).0, 200);
    assert_eq!(sql(&host, "cache", "SELECT 40 + 2 AS answer", None), (200, "answer\n42".to_owned()));
    assert!(db.is_file());
    drop(host);

    // A label no database is defined for stops startup, naming it.
    let error = startup_error(&manifest(&dir, "/...", "", "sqlite_databases = [\"cache\"]"));
    assert!(error.contains("\"cache\""), "{error}");
}

/// The Redis to test against: `REDIS_URL`, else the machine's own.
/// A host serving the fixture on every path, allowed to reach the test Redis; and that Redis' URL.
fn redis_host(name: &str) -> (Host, String) {
    let url = redis_url();
    let authority = url.trim_start_matches("redis://").split('/').next().unwrap().rsplit('@').next().unwrap();
    let dir = scratch(name);
    let allowed = format!("allowed_outbound_hosts = [\"redis://{authority}\"]");
    (Host::start(&manifest(&dir, "/...", "", &allowed), &[], &[]), url)
}

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

fn redis(host: &Host, address: &str, command: &str, arguments: &[&str]) -> (u16, String) {
    let mut path = format!("/redis?addr={}&cmd={command}", encode(address));
    for argument in arguments {
        path.push_str(&format!("&arg={}", encode(argument)));
    }
    host.get(&path, &[])
}

#[test]
fn redis_commands_reach_a_real_redis_and_replies_are_flattened_as_spin_does() {
    let (host, url) = redis_host("redis");
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let key = format!("mfa-host-test:{}:{nanos}", std::process::id());
    let counter = format!("{key}:n");

    assert_eq!(redis(&host, &url, "SET", &[&key, "v"]), (200, "status:OK".to_owned()));
    assert_eq!(redis(&host, &url, "GET", &[&key]), (200, "bin:v".to_owned()));
    assert_eq!(redis(&host, &url, "INCR", &[&counter]), (200, "int:1".to_owned()));
    assert_eq!(redis(&host, &url, "GET", &[&format!("{key}:missing")]), (200, "nil".to_owned()));
    // Nested arrays come back flat, as Spin's `execute` returns them.
    assert_eq!(
        redis(&host, &url, "EVAL", &["return {1, {2, 'x'}, 'y'}", "0"]),
        (200, "int:1\nint:2\nbin:x\nbin:y".to_owned())
    );
    let (status, body) = redis(&host, &url, "NOSUCHCOMMAND", &[]);
    assert_eq!(status, 500);
    assert!(body.starts_with("error: Error::Other("), "{body}");
    assert_eq!(redis(&host, &url, "DEL", &[&key, &counter]), (200, "int:2".to_owned()));

    // An address outside allowed_outbound_hosts is refused before any connection.
    let (status, body) = redis(&host, "redis://127.0.0.2:6390", "PING", &[]);
    assert_eq!((status, body.as_str()), (500, "error: Error::InvalidAddress"));
}

#[test]
fn metrics_are_served_on_the_admin_listener_only() {
    let dir = scratch("metrics");
    let mut host = Host::start(&manifest(&dir, "/echo/...", "", ""), &[], &["--admin-listen", "127.0.0.1:0"]);
    let admin: u16 = host.banner_line("Metrics at http://127.0.0.1:").trim_end_matches("/metrics").parse().unwrap();
    assert_eq!(host.get("/echo/a", &[]).0, 200);
    assert_eq!(host.get("/echo/b", &[]).0, 200);
    assert_eq!(host.get("/nowhere", &[]).0, 404);
    let (status, text) = request(admin, "/metrics", &[]);
    assert_eq!(status, 200);
    assert!(text.contains("mfa_host_requests_total{route=\"/echo/...\",status=\"200\"} 2"), "{text}");
    assert!(text.contains("mfa_host_requests_total{route=\"-\",status=\"404\"} 1"), "{text}");
    assert!(text.contains("mfa_host_request_duration_seconds_bucket{le=\"+Inf\",route=\"/echo/...\"} 2"), "{text}");
    assert!(text.contains("mfa_host_instances_in_use 0"), "{text}");
    // Not on the app's port: there it is just an unrouted path.
    assert_eq!(host.get("/metrics", &[]).0, 404);
}

#[test]
fn compiled_components_are_cached_on_disk() {
    let dir = scratch("cache");
    let cache = dir.join("compiled");
    let _ = std::fs::remove_dir_all(&cache);
    let path = manifest(&dir, "/...", "", "");
    let cache_arg = cache.display().to_string();
    let host = Host::start(&path, &[], &["--cache-dir", &cache_arg]);
    assert_eq!(host.get("/echo", &[]).0, 200);
    drop(host);
    let files = || {
        let mut stack = vec![cache.clone()];
        let mut files = Vec::new();
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                if entry.file_type().unwrap().is_dir() { stack.push(entry.path()) } else { files.push(entry.path()) }
            }
        }
        files
    };
    let written = files();
    assert!(!written.is_empty(), "nothing was cached under {}", cache.display());
    // A second start uses the cache (and still serves).
    let host = Host::start(&path, &[], &["--cache-dir", &cache_arg]);
    assert_eq!(host.get("/echo", &[]).0, 200);
    assert_eq!(files().len(), written.len());
}

/// Runs several commands on one connection: `(command, arguments)`.
fn redis_sequence(host: &Host, address: &str, commands: &[(&str, &[&str])]) -> (u16, String) {
    let mut path = format!("/redis?addr={}", encode(address));
    for (command, arguments) in commands {
        path.push_str(&format!("&cmd={}", encode(command)));
        for argument in *arguments {
            path.push_str(&format!("&arg={}", encode(argument)));
        }
    }
    host.get(&path, &[])
}

#[test]
fn redis_connections_are_reused_only_after_a_full_reset() {
    let (host, url) = redis_host("redis-reuse");
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let key = format!("mfa-host-test:{}:{nanos}:reuse", std::process::id());

    // A request leaves its connection on database 3 with a transaction open and a key watched.
    let (status, body) = redis_sequence(
        &host,
        &url,
        &[("CLIENT", &["ID"]), ("SELECT", &["3"]), ("WATCH", &[&key]), ("MULTI", &[]), ("SET", &[&key, "v"])],
    );
    assert_eq!(status, 200, "{body}");
    let first_id = body.lines().next().unwrap().to_owned();
    assert!(body.ends_with("status:QUEUED"), "{body}");

    // Later requests get that very connection back (it is reset in the background first), in a fresh state.
    let mut reused = None;
    for _ in 0..100 {
        let (status, body) = redis_sequence(&host, &url, &[("CLIENT", &["ID"]), ("CLIENT", &["INFO"])]);
        assert_eq!(status, 200, "{body}");
        if body.lines().next() == Some(first_id.as_str()) {
            reused = Some(body);
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let info = reused.expect("the first connection was never reused");
    assert!(info.contains(" db=0 ") && info.contains(" multi=-1 "), "{info}");
    // The queued SET never ran.
    assert_eq!(
        redis_sequence(&host, &url, &[("SELECT", &["3"]), ("GET", &[&key])]),
        (200, "status:OK\nnil".to_owned())
    );
}

/// The command Redis last ran for client `id` (`cmd=` of `CLIENT LIST ID`), as seen from a connection of the test's.
fn last_command(observer: &mut redis::Connection, id: &str) -> String {
    let list: String = redis::cmd("CLIENT").arg("LIST").arg("ID").arg(id).query(observer).unwrap();
    list.split_whitespace().find_map(|field| field.strip_prefix("cmd=")).unwrap_or("").to_owned()
}

/// Waits (up to 2 s) until Redis last ran `command` for client `id`.
fn await_last_command(observer: &mut redis::Connection, id: &str, command: &str) {
    for _ in 0..100 {
        if last_command(observer, id) == command {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("client {id} last ran {:?}, not {command}", last_command(observer, id));
}

#[test]
fn a_connection_that_only_read_and_wrote_keys_goes_back_without_a_reset() {
    let (host, url) = redis_host("redis-unchanged");
    let mut observer = redis::Client::open(url.as_str()).unwrap().get_connection().unwrap();
    let key = format!("mfa-host-test:{}:unchanged", std::process::id());

    // CLIENT changes what a connection may be: it is reset before it goes back (the host's only idle one then).
    let (status, body) = redis_sequence(&host, &url, &[("CLIENT", &["ID"])]);
    assert_eq!(status, 200, "{body}");
    let id = body.trim().strip_prefix("int:").unwrap().to_owned();
    await_last_command(&mut observer, &id, "reset");
    std::thread::sleep(Duration::from_millis(100));

    // Reading and writing keys changes nothing: the same connection serves it, and no reset follows.
    let (status, body) = redis_sequence(&host, &url, &[("SET", &[&key, "v"]), ("GET", &[&key]), ("DEL", &[&key])]);
    assert_eq!((status, body.as_str()), (200, "status:OK\nbin:v\nint:1"));
    await_last_command(&mut observer, &id, "del");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(last_command(&mut observer, &id), "del");

    // It went straight back to the pool: the next request has it.
    let (status, body) = redis_sequence(&host, &url, &[("CLIENT", &["ID"])]);
    assert_eq!((status, body.trim()), (200, format!("int:{id}").as_str()));
}
