//! Bench: the Spin app (spin.toml served in-process by mfa-host, as the end-to-end tests do) on the Redis +
//! Postgres backend, measured over loopback with 1, 64 and 1,000 keep-alive connections, each sending one request
//! after another (closed loop: at 1,000 connections the latency is what 1,000 clients waiting on one another see):
//!
//! - session introspection (`POST /v1/introspect`, the product backend's per-request call);
//! - the user's own session check (`GET /v1/session`);
//! - listing a user's 5 sessions (`GET /v1/sessions`);
//! - next to the seed's own Python stack's introspection (`../shared/peers/seed-stack`, started beside it when it
//!   is there: one Redis GET per check), at 64 and 1,000 connections, and the ratio of the two;
//! - the same two checks at 1,000 connections as an open loop ([`load::paced`]): 1,000 users each checking on their
//!   own schedule, together at half and at four fifths of the rate the closed loop reached in this run, the latency
//!   counted from when each check was due;
//! - the app's `/healthz` (its entry, routing and JSON, no I/O) next to the smallest spin-sdk 5.2 component (the
//!   host tests' `echo` fixture answering `/hello`) served by mfa-host in the same process with the same limits;
//! - the floor under any session check: that same fixture doing nothing but one Redis `GET` of a session-sized
//!   value (`/redis`), at 64 and 1,000 connections, next to the app's session check;
//! - and `redis-benchmark -t get` against the same Redis (the floor any Redis-backed lookup sits on).
//!
//! Prints figures; asserts nothing about speed. Run with `scripts/bench` (it builds the components first), or
//! `cargo bench -p mfa-e2e --bench api` after `scripts/test` or the build steps it runs. `MFA_BENCH_SECONDS` sets
//! each run's length (default 5). Load generator, app, Redis and Postgres share this machine's cores.

use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

// The end-to-end tests' app harness, which fails loudly (panics) on anything unexpected.
#[allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
#[path = "../e2e/api/app.rs"]
mod app;
#[path = "../../host/benches/load/mod.rs"]
mod load;
#[path = "peers/seed_stack.rs"]
mod seed_stack;

use app::{Backend, TestApp};
use load::{Load, Spec, load, paced, report};
use mfa_host::app::manifest::Manifest;
use mfa_host::app::runtime_config::RuntimeConfig;
use mfa_host::serve::App;
use seed_stack::SeedStack;

/// The connection counts every check is measured at.
const CONNECTIONS: [usize; 3] = [1, 64, 1000];

const PASSWORD: &str = "correct horse battery staple";

/// The test Redis' host and port.
fn redis_host_port() -> (String, String) {
    let url = app::redis_url();
    let authority = url.trim_start_matches("redis://").split('/').next().unwrap_or("127.0.0.1:6379");
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    let (host, port) = host_port.rsplit_once(':').unwrap_or((host_port, "6379"));
    (host.to_owned(), port.to_owned())
}

fn redis_benchmark() -> Result<String> {
    let (host, port) = redis_host_port();
    let output = Command::new("redis-benchmark")
        .args(["-h", &host, "-p", &port, "-t", "get", "-c", "64", "-n", "200000", "-q"])
        .output()
        .context("redis-benchmark (Debian package redis-tools) is not installed")?;
    if !output.status.success() {
        bail!("redis-benchmark failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    // With -q it prints progress lines ending in \r, then the summary.
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    Ok(text.rsplit('\r').next().unwrap_or(&text).trim().to_owned())
}

fn main() -> Result<()> {
    let seconds = std::env::var("MFA_BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    let duration = Duration::from_secs(seconds);
    let app = TestApp::migrated(Backend::RedisPostgres, &[]);
    if app.register("bench@example.com", PASSWORD).status != 201 {
        bail!("registration failed");
    }
    let mut tokens = Vec::new();
    for _ in 0..5 {
        let answer = app.login("bench@example.com", PASSWORD, &[]);
        let token = answer.json().get("token").and_then(|t| t.as_str()).map(str::to_owned);
        tokens.push(token.with_context(|| format!("login failed: {answer:?}"))?);
    }
    let token = tokens.last().context("no session")?;

    let introspect = Spec::post_json("/v1/introspect", format!(r#"{{"token": "{token}"}}"#))
        .header("authorization", &format!("Bearer {}", app.api_key));
    let own = Spec::get("/v1/session").header("authorization", &format!("Bearer {token}"));
    let list = Spec::get("/v1/sessions").header("authorization", &format!("Bearer {token}"));
    let mut introspection = Vec::new();
    let mut session_checks = Vec::new();
    for (name, spec) in [("introspection", &introspect), ("GET /v1/session", &own), ("list 5 sessions", &list)] {
        for connections in CONNECTIONS {
            let measured = load(app.port, spec, connections, duration)?;
            report(&format!("{name}, {connections} connections"), &measured);
            if name == "list 5 sessions" {
                continue;
            }
            if connections == 1000 {
                for share in [0.5, 0.8] {
                    let rate = measured.per_second * share;
                    let users = paced(app.port, spec, connections, rate, duration)?;
                    report(&format!("{name}, 1000 users at {rate:.0}/s (open loop)"), &users);
                }
            }
            let kept = if name == "introspection" { &mut introspection } else { &mut session_checks };
            kept.push((connections, measured));
        }
    }
    compare_with_seed_stack(&introspection, duration)?;
    if let Some(fixture) = echo_fixture() {
        let (host, port) = redis_host_port();
        let minimal = serve_component(&fixture, &format!("redis://{host}:{port}"))?;
        compare_with_floor(&minimal, &session_checks, duration)?;
        compare_with_hello(&app, &minimal, duration)?;
    }
    println!("redis-benchmark -t get -c 64 -n 200000 -q: {}", redis_benchmark()?);
    Ok(())
}

/// Prints `ours` as a ratio of `theirs`: the rate and the p99.
fn print_ratio(what: &str, ours: &Load, theirs: &Load) {
    println!(
        "  {what}: {:.2}x the rate, p99 {:.2}x",
        ours.per_second / theirs.per_second.max(f64::MIN_POSITIVE),
        ours.p99.as_secs_f64() / theirs.p99.as_secs_f64().max(f64::MIN_POSITIVE)
    );
}

/// The host tests' `echo` fixture (spin-sdk 5.2), if it is built.
fn echo_fixture() -> Option<std::path::PathBuf> {
    let fixture = mfa_e2e::paths::workspace_dir().join("host/tests/fixtures/target/wasm32-wasip2/release/echo.wasm");
    if fixture.is_file() {
        return Some(fixture);
    }
    println!("({} is missing: no comparison with a minimal component)", fixture.display());
    None
}

/// One component (a `.wasm` file, no variables, allowed to reach `outbound`) answering every path, served with the
/// limits the app is served with.
fn serve_component(source: &std::path::Path, outbound: &str) -> Result<app::Served> {
    let dir = std::env::temp_dir().join(format!("mfa-bench-component-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let manifest = format!(
        "spin_manifest_version = 2\n[application]\nname = \"one\"\n[[trigger.http]]\nroute = \"/...\"\n\
         component = \"one\"\n[component.one]\nsource = \"{}\"\nallowed_outbound_hosts = [\"{outbound}\"]\n",
        source.display()
    );
    let manifest = Manifest::parse(&manifest, dir.clone())?;
    let runtime_config = RuntimeConfig::parse("", &dir)?;
    Ok(app::Served::start(App::load(&manifest, &runtime_config, |_| None, app::served_limits())?))
}

/// Measures the app's `/healthz` and spin-sdk's hello (served by `hello`, the echo fixture) at 64 connections, each
/// served by mfa-host with the limits the app is served with, and prints the ratio.
fn compare_with_hello(app: &TestApp, hello: &app::Served, duration: Duration) -> Result<()> {
    let ours = load(app.port, &Spec::get("/healthz"), 64, duration)?;
    report("app /healthz, 64 connections", &ours);
    let theirs = load(hello.port, &Spec::get("/hello"), 64, duration)?;
    report("spin-sdk hello, 64 connections", &theirs);
    print_ratio("app /healthz / spin-sdk hello at 64 connections", &ours, &theirs);
    Ok(())
}

/// Percent-encodes `value` for a query string (every byte but the unreserved ones).
fn query_value(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Measures the floor under a session check, the echo fixture (served by `minimal`) doing only one Redis `GET` of a
/// value the size of a stored session, at 64 and 1,000 connections, and prints the app's session check (`app`, by
/// connections) as a ratio of it.
fn compare_with_floor(minimal: &app::Served, app: &[(usize, Load)], duration: Duration) -> Result<()> {
    let address = query_value(&app::redis_url());
    let key = format!("mfa-bench-floor-{}", std::process::id());
    let redis = |command: &str| format!("/redis?addr={address}&cmd={command}&arg={key}");
    // 504 bytes: what one live session takes in Redis (docs/benchmarks.md).
    let set = Spec::get(&format!("{}&arg={}", redis("SET"), "x".repeat(504)));
    if load::status_of(minimal.port, &set)? != 200 {
        bail!("the echo fixture could not SET its key in Redis");
    }
    let get = Spec::get(&redis("GET"));
    for (connections, ours) in app.iter().filter(|(connections, _)| *connections > 1) {
        let floor = load(minimal.port, &get, *connections, duration)?;
        report(&format!("floor: one Redis GET in spin-sdk, {connections} connections"), &floor);
        print_ratio(&format!("app session check / floor at {connections} connections"), ours, &floor);
    }
    load::status_of(minimal.port, &Spec::get(&redis("DEL")))?;
    Ok(())
}

/// Measures the seed stack's introspection at 64 and 1,000 connections and prints the app's rate as a ratio of it.
fn compare_with_seed_stack(app: &[(usize, Load)], duration: Duration) -> Result<()> {
    let seed = match SeedStack::start(&mfa_e2e::paths::workspace_dir(), &app::redis_url()) {
        Ok(Some(seed)) => seed,
        Ok(None) => {
            println!("(the seed stack is not beside the workspace: no comparison)");
            return Ok(());
        }
        // The app's figures stand without it (e.g. no PyPI to make its venv).
        Err(error) => {
            println!("(the seed stack did not start, no comparison: {error:#})");
            return Ok(());
        }
    };
    let check = Spec::get("/v1/sessions/introspect").header("authorization", &format!("Bearer {}", seed.token));
    for (connections, ours) in app.iter().filter(|(connections, _)| *connections > 1) {
        let theirs = load(seed.port, &check, *connections, duration)?;
        report(&format!("seed stack introspection, {connections} connections"), &theirs);
        print_ratio(&format!("app / seed stack, introspection at {connections} connections"), ours, &theirs);
    }
    Ok(())
}
