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
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

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
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let mut client = connect(port).await?;
        let status = get(&mut client, "/echo").await?;
        if status != 200 {
            bail!("first request answered {status}");
        }
        Ok(())
    })?;
    Ok((host, started.elapsed()))
}

type Client = hyper::client::conn::http1::SendRequest<Empty<Bytes>>;

async fn connect(port: u16) -> Result<Client> {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender)
}

async fn get(client: &mut Client, path: &str) -> Result<u16> {
    client.ready().await?;
    let request = hyper::Request::get(path).header("host", "127.0.0.1").body(Empty::new())?;
    let response = client.send_request(request).await?;
    let status = response.status().as_u16();
    response.into_body().collect().await?;
    Ok(status)
}

struct Load {
    per_second: f64,
    mean: Duration,
    p50: Duration,
    p99: Duration,
    errors: u64,
}

/// `connections` keep-alive clients sending `path` back to back for `duration`.
fn load(port: u16, path: &'static str, connections: usize, duration: Duration) -> Result<Load> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let deadline = Arc::new(Instant::now() + duration);
        let mut tasks = Vec::new();
        for _ in 0..connections {
            let deadline = deadline.clone();
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0u64;
                let mut client = connect(port).await?;
                while Instant::now() < *deadline {
                    let sent = Instant::now();
                    match get(&mut client, path).await {
                        Ok(200) => latencies.push(sent.elapsed()),
                        _ => {
                            errors += 1;
                            client = connect(port).await?;
                        }
                    }
                }
                anyhow::Ok((latencies, errors))
            }));
        }
        let started = Instant::now();
        let mut latencies = Vec::new();
        let mut errors = 0;
        for task in tasks {
            let (mut some, failed) = task.await??;
            latencies.append(&mut some);
            errors += failed;
        }
        let elapsed = started.elapsed().as_secs_f64();
        latencies.sort();
        let at = |q: f64| latencies.get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)));
        let total: Duration = latencies.iter().sum();
        Ok(Load {
            per_second: latencies.len() as f64 / elapsed,
            mean: total / u32::try_from(latencies.len().max(1))?,
            p50: at(0.50).copied().unwrap_or_default(),
            p99: at(0.99).copied().unwrap_or_default(),
            errors,
        })
    })
}

fn report(name: &str, load: &Load) {
    println!(
        "{name:<40} {:>9.0} req/s  mean {:>8.1} µs  p50 {:>8.1} µs  p99 {:>8.1} µs  errors {}",
        load.per_second,
        load.mean.as_secs_f64() * 1e6,
        load.p50.as_secs_f64() * 1e6,
        load.p99.as_secs_f64() * 1e6,
        load.errors
    );
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

    let health_1 = load(host.port, "/.well-known/spin/health", 1, duration)?;
    report("health (native), 1 connection", &health_1);
    let echo_1 = load(host.port, "/hello", 1, duration)?;
    report("/hello (guest), 1 connection", &echo_1);
    report("health (native), 64 connections", &load(host.port, "/.well-known/spin/health", 64, duration)?);
    report("/hello (guest), 64 connections", &load(host.port, "/hello", 64, duration)?);
    let overhead = echo_1.mean.saturating_sub(health_1.mean);
    println!("per-request instantiate + call (1-connection mean difference) {:>8.1} µs", overhead.as_secs_f64() * 1e6);

    drop(host);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
