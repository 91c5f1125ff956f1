//! Bench: `mfa-host up` serving the `echo` fixture, measured from outside over loopback. Prints figures; asserts
//! nothing about speed.
//!
//! - cold start (empty compile cache) and warm start (cache filled) to the first 200 response;
//! - requests per second and p50/p99 latency for the health endpoint (answered natively by hyper, no Wasm: the
//!   baseline) and for a trivial guest route (`/hello`, spin-sdk's `#[http_component]` answering `hello`), with 1 and 64 keep-alive connections;
//! - the per-request instantiate+call cost: mean single-connection latency of `/hello` minus the health endpoint's.
//!
//! Run with `cargo bench -p mfa-host --bench serve` after building the fixture
//! (`cargo build --release --target wasm32-wasip2 --manifest-path host/tests/fixtures/Cargo.toml`).
//! `MFA_BENCH_SECONDS` sets each load run's length (default 5). The load generator runs on the same machine as
//! the host, so on a small machine they share the cores.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

mod load;
use load::{Spec, load, report};

fn fixture() -> Result<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/target/wasm32-wasip2/release/echo.wasm");
    if !path.is_file() {
        bail!("{} is missing: build the fixtures first", path.display());
    }
    Ok(path)
}

/// A running host, killed on drop.
struct Host {
    child: Child,
    port: u16,
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the host and returns it with the time from spawning to the first 200 from `/echo`.
fn start(manifest: &Path, cache: &Path) -> Result<(Host, Duration)> {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mfa-host"))
        .args(["up", "--listen", "127.0.0.1:0", "--max-instances", "128", "--from"])
        .arg(manifest)
        .arg("--cache-dir")
        .arg(cache)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().context("stdout")?).read_line(&mut line)?;
    let port = line.trim().strip_prefix("Serving http://127.0.0.1:").context("banner")?.parse()?;
    let host = Host { child, port };
    let status = load::status_of(port, &Spec::get("/echo"))?;
    if status != 200 {
        bail!("first request answered {status}");
    }
    Ok((host, started.elapsed()))
}

fn main() -> Result<()> {
    let seconds = std::env::var("MFA_BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    let duration = Duration::from_secs(seconds);
    let dir = std::env::temp_dir().join(format!("mfa-host-bench-{}", std::process::id()));
    let cache = dir.join("cache");
    std::fs::create_dir_all(&dir)?;
    let manifest = dir.join("spin.toml");
    std::fs::write(
        &manifest,
        format!(
            "spin_manifest_version = 2\n[application]\nname = \"bench\"\n[[trigger.http]]\nroute = \"/...\"\n\
             component = \"echo\"\n[component.echo]\nsource = \"{}\"\n",
            fixture()?.display()
        ),
    )?;

    let (host, cold) = start(&manifest, &cache)?;
    drop(host);
    let (host, warm) = start(&manifest, &cache)?;
    println!("cold start to first response (empty cache)  {:>8.1} ms", cold.as_secs_f64() * 1e3);
    println!("warm start to first response (cache filled) {:>8.1} ms", warm.as_secs_f64() * 1e3);

    let (health, hello) = (Spec::get("/.well-known/spin/health"), Spec::get("/hello"));
    let health_1 = load(host.port, &health, 1, duration)?;
    report("health (native), 1 connection", &health_1);
    let echo_1 = load(host.port, &hello, 1, duration)?;
    report("/hello (guest), 1 connection", &echo_1);
    report("health (native), 64 connections", &load(host.port, &health, 64, duration)?);
    report("/hello (guest), 64 connections", &load(host.port, &hello, 64, duration)?);
    let overhead = echo_1.mean.saturating_sub(health_1.mean);
    println!("per-request instantiate + call (1-connection mean difference) {:>8.1} µs", overhead.as_secs_f64() * 1e6);

    drop(host);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
