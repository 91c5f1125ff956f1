//! A small HTTP/1.1 load generator for the benches (`host/benches/serve.rs`, and `tests/benches/api.rs` through
//! `#[path]`): `connections` keep-alive clients send one request after another for a while; the figures are
//! requests per second and latency percentiles of the answers with the expected status.
//!
//! Two shapes of load: [`load`] is a closed loop (each client sends its next request as soon as the last is
//! answered, so the server is saturated and, by Little's law, the mean latency is `connections / rate`); [`paced`]
//! is an open loop (each client sends on its own schedule, at a fixed total rate, as users who check now and then
//! do), whose latency counts from when a request was due, so a server that falls behind is charged for the wait.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

type Client = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// The request every client repeats.
#[derive(Clone, Debug)]
pub struct Spec {
    /// The method.
    pub method: &'static str,
    /// The path.
    pub path: String,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Bytes,
    /// The status that counts as success.
    pub expect: u16,
}

impl Spec {
    /// `GET path`, expecting 200.
    pub fn get(path: &str) -> Self {
        Self { method: "GET", path: path.to_owned(), headers: Vec::new(), body: Bytes::new(), expect: 200 }
    }

    /// With one more header.
    #[allow(dead_code)]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// `POST path` with a JSON body, expecting 200.
    #[allow(dead_code)]
    pub fn post_json(path: &str, body: String) -> Self {
        let mut spec = Self::get(path).header("content-type", "application/json");
        spec.method = "POST";
        spec.body = Bytes::from(body);
        spec
    }
}

async fn connect(port: u16) -> Result<Client> {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender)
}

async fn send(client: &mut Client, spec: &Spec) -> Result<u16> {
    client.ready().await?;
    let mut request = hyper::Request::builder().method(spec.method).uri(&spec.path).header("host", "127.0.0.1");
    for (name, value) in &spec.headers {
        request = request.header(name, value);
    }
    let response = client.send_request(request.body(Full::new(spec.body.clone()))?).await?;
    let status = response.status().as_u16();
    response.into_body().collect().await?;
    Ok(status)
}

/// The status of one request (a fresh connection).
#[allow(dead_code)]
pub fn status_of(port: u16, spec: &Spec) -> Result<u16> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let mut client = connect(port).await?;
        send(&mut client, spec).await
    })
}

/// What a load run measured.
pub struct Load {
    /// Requests answered with the expected status, per second.
    pub per_second: f64,
    /// Mean latency.
    pub mean: Duration,
    /// Median latency.
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
    /// Answers with another status, and broken connections.
    pub errors: u64,
}

/// `connections` keep-alive clients sending `spec` back to back for `duration`.
pub fn load(port: u16, spec: &Spec, connections: usize, duration: Duration) -> Result<Load> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let deadline = Arc::new(Instant::now() + duration);
        let mut tasks = Vec::new();
        for _ in 0..connections {
            let deadline = deadline.clone();
            let spec = spec.clone();
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0u64;
                let mut client = connect(port).await?;
                while Instant::now() < *deadline {
                    let sent = Instant::now();
                    match send(&mut client, &spec).await {
                        Ok(status) if status == spec.expect => latencies.push(sent.elapsed()),
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
        let (latencies, errors) = gather(tasks).await?;
        Ok(summarise(latencies, errors, started.elapsed().as_secs_f64()))
    })
}

/// `connections` keep-alive clients together sending `spec` `per_second` times a second for `duration`, each on
/// its own fixed schedule (staggered so they do not all send at once). A request is due at its scheduled time; one
/// that cannot be sent then (its client still waits for the last answer) goes as soon as it can, and its latency is
/// counted from when it was due.
#[allow(dead_code)]
pub fn paced(port: u16, spec: &Spec, connections: usize, per_second: f64, duration: Duration) -> Result<Load> {
    let interval = Duration::from_secs_f64(connections as f64 / per_second.max(f64::MIN_POSITIVE));
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        // Every client connects before the clock starts, so connection set-up is not counted as latency.
        let mut clients = Vec::new();
        for _ in 0..connections {
            clients.push(connect(port).await?);
        }
        let start = tokio::time::Instant::now() + Duration::from_millis(100);
        let end = start + duration;
        let mut tasks = Vec::new();
        for (index, mut client) in clients.into_iter().enumerate() {
            let spec = spec.clone();
            let offset = interval.mul_f64(index as f64 / connections as f64);
            tasks.push(tokio::spawn(async move {
                let (mut latencies, mut errors) = (Vec::new(), 0u64);
                let mut due = start + offset;
                while due < end {
                    tokio::time::sleep_until(due).await;
                    match send(&mut client, &spec).await {
                        Ok(status) if status == spec.expect => latencies.push(due.elapsed()),
                        _ => {
                            errors += 1;
                            client = connect(port).await?;
                        }
                    }
                    due += interval;
                }
                anyhow::Ok((latencies, errors))
            }));
        }
        let (latencies, errors) = gather(tasks).await?;
        Ok(summarise(latencies, errors, duration.as_secs_f64()))
    })
}

/// What one client (or all of them) measured: the latencies of the answers with the expected status, and the errors.
type Measured = (Vec<Duration>, u64);

/// What every client measured: the latencies of its answers with the expected status, and its errors.
async fn gather(tasks: Vec<tokio::task::JoinHandle<Result<Measured>>>) -> Result<Measured> {
    let (mut latencies, mut errors) = (Vec::new(), 0);
    for task in tasks {
        let (mut some, failed) = task.await??;
        latencies.append(&mut some);
        errors += failed;
    }
    Ok((latencies, errors))
}

/// The figures of a run that took `seconds` and got `latencies` (answers with the expected status) and `errors`.
fn summarise(mut latencies: Vec<Duration>, errors: u64, seconds: f64) -> Load {
    latencies.sort();
    let at = |q: f64| latencies.get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)));
    let total: Duration = latencies.iter().sum();
    Load {
        per_second: latencies.len() as f64 / seconds,
        mean: total / u32::try_from(latencies.len().max(1)).unwrap_or(u32::MAX),
        p50: at(0.50).copied().unwrap_or_default(),
        p99: at(0.99).copied().unwrap_or_default(),
        errors,
    }
}

/// Prints one line of figures.
pub fn report(name: &str, load: &Load) {
    println!(
        "{name:<48} {:>9.0} req/s  mean {:>8.1} µs  p50 {:>8.1} µs  p99 {:>8.1} µs  errors {}",
        load.per_second,
        load.mean.as_secs_f64() * 1e6,
        load.p50.as_secs_f64() * 1e6,
        load.p99.as_secs_f64() * 1e6,
        load.errors
    );
}
