//! Bench: the MFA flows of the Spin app on the Redis + Postgres backend (spin.toml served in-process by mfa-host,
//! as the end-to-end tests do), each step driven by concurrent clients over loopback (one connection per request),
//! every user used once per step (a TOTP code is accepted once per user and time step, so a flow cannot be replayed
//! on one user):
//!
//! - registration and password login, the steps dominated by password hashing (argon2id), reported on their own;
//!   and one client's password logins one after another next to the same argon2id hash computed natively on one
//!   thread (the app's crate and OWASP parameters): the ratio is a lower bound for argon2id in Wasm against
//!   native, as a login does more than hash;
//! - TOTP enrollment: start (secret, otpauth URI, SVG and PNG QR codes, sealed secret) and confirm (a current code,
//!   the first factor's 10 backup codes);
//! - login with a second factor: the password step (argon2id, then a challenge) and the TOTP verify (challenge,
//!   lockout gate, code, new aal 2 session), at 64 clients over 512 users and at 1,000 clients over 1,000 others.
//!
//! Each step prints its rate, p50 and p99 and its errors (a refused or failed request, with the first reason);
//! the next step goes on with the users that succeeded. Asserts nothing about speed. Run with
//! `scripts/bench mfa`. `MFA_BENCH_CLIENTS` sets the clients of the setup steps (default 64).

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use hmac::{KeyInit, Mac};

// The end-to-end tests' app harness, which fails loudly (panics) on anything unexpected.
#[allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
#[path = "../e2e/api/app.rs"]
mod app;

use app::{Backend, TestApp};

const PASSWORD: &str = "correct horse battery staple";
/// Concurrent clients unless `MFA_BENCH_CLIENTS` says otherwise.
const CONNECTIONS: usize = 64;

fn clients() -> usize {
    std::env::var("MFA_BENCH_CLIENTS").ok().and_then(|s| s.parse().ok()).filter(|n| *n > 0).unwrap_or(CONNECTIONS)
}

/// RFC 6238 (HMAC-SHA-1, 6 digits, 30 s), as the end-to-end tests compute it.
fn totp(secret: &[u8], unix: u64) -> Result<String> {
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(secret)?;
    mac.update(&(unix / 30).to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest.get(19).copied().unwrap_or(0) & 0x0f);
    let bytes: [u8; 4] = digest.get(offset..offset + 4).context("short digest")?.try_into()?;
    Ok(format!("{:06}", (u32::from_be_bytes(bytes) & 0x7fff_ffff) % 1_000_000))
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn secret_of(uri: &str) -> Result<Vec<u8>> {
    let query = uri.split_once('?').context("no query")?.1;
    let encoded = query.split('&').find_map(|pair| pair.strip_prefix("secret=")).context("no secret")?;
    Ok(data_encoding::BASE32_NOPAD.decode(encoded.trim_end_matches('=').as_bytes())?)
}

/// Runs `step` once per item on `clients` threads; prints its rate, latencies and errors; the outputs of the
/// items that succeeded.
fn run<T: Sync, O: Send>(
    name: &str,
    clients: usize,
    items: &[T],
    step: impl Fn(&T) -> Result<O> + Sync,
) -> Result<Vec<O>> {
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(items.len()));
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..clients {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(index) else { break };
                    let began = Instant::now();
                    // The harness's client panics on a broken connection: one request's error, not the bench's.
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| step(item)))
                        .unwrap_or_else(|panic| bail!("the connection broke: {}", panic_text(&*panic)));
                    let took = began.elapsed();
                    if let Ok(mut results) = results.lock() {
                        results.push((index, took, outcome));
                    }
                }
            });
        }
    });
    let elapsed = started.elapsed();
    let mut results = results.into_inner().map_err(|_| anyhow::anyhow!("a worker panicked"))?;
    results.sort_by_key(|(index, _, _)| *index);
    let mut latencies: Vec<Duration> = results.iter().map(|(_, took, _)| *took).collect();
    latencies.sort();
    let at = |q: f64| {
        let index = ((latencies.len() as f64 - 1.0) * q).round() as usize;
        latencies.get(index).copied().unwrap_or_default().as_secs_f64() * 1e3
    };
    let mut outputs = Vec::with_capacity(results.len());
    let mut errors = Vec::new();
    for (_, _, outcome) in results {
        match outcome {
            Ok(output) => outputs.push(output),
            Err(error) => errors.push(error),
        }
    }
    println!(
        "{name:<52} {:>7.1} req/s  p50 {:>8.1} ms  p99 {:>8.1} ms  errors {}  ({} requests, {clients} clients)",
        outputs.len() as f64 / elapsed.as_secs_f64(),
        at(0.5),
        at(0.99),
        errors.len(),
        latencies.len(),
    );
    if let Some(first) = errors.first() {
        println!("  first error: {first:#}");
    }
    if outputs.is_empty() && !items.is_empty() {
        bail!("{name}: every request failed");
    }
    Ok(outputs)
}

/// What a panic said.
fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|text| (*text).to_owned()))
        .unwrap_or_default()
}

/// The version of the authenticator consent text the app publishes (enrollment needs the user's consent to it).
fn totp_consent(app: &TestApp) -> Result<String> {
    let texts = app.get("/v1/consent-texts").json();
    let versions = texts.get("texts").and_then(|texts| texts.as_array()).context("no consent texts")?;
    let totp = versions
        .iter()
        .find(|text| text.get("purpose").and_then(|p| p.as_str()) == Some("totp"))
        .context("no authenticator consent text")?;
    Ok(totp.get("version").and_then(|v| v.as_str()).context("no version")?.to_owned())
}

fn field(answer: &app::Answer, name: &str) -> Result<String> {
    answer
        .json()
        .get(name)
        .and_then(|v| v.as_str())
        .map(str::to_owned)
        .with_context(|| format!("no {name}: {answer:?}"))
}

/// Mean time of one client's password logins, one after another, next to argon2id natively on one thread.
fn compare_with_native_argon2(app: &TestApp, emails: &[String]) -> Result<()> {
    const ROUNDS: usize = 20;
    let params = argon2::Params::new(19 * 1024, 2, 1, Some(32)).map_err(|error| anyhow::anyhow!("{error}"))?;
    let native = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut output = [0u8; 32];
    let started = Instant::now();
    for round in 0..ROUNDS {
        let salt = [u8::try_from(round).unwrap_or(0); 16];
        native.hash_password_into(PASSWORD.as_bytes(), &salt, &mut output).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let native = started.elapsed() / u32::try_from(ROUNDS)?;
    let started = Instant::now();
    for email in emails.iter().cycle().take(ROUNDS) {
        field(&app.login(email, PASSWORD, &[]), "token")?;
    }
    let login = started.elapsed() / u32::try_from(ROUNDS)?;
    println!(
        "argon2id (m = 19 MiB, t = 2, p = 1), native, one thread: {:>6.1} ms per hash",
        native.as_secs_f64() * 1e3
    );
    println!("password login (argon2id in Wasm), one client:        {:>6.1} ms per login", login.as_secs_f64() * 1e3);
    println!(
        "  native hash / Wasm login: {:.2}x (a lower bound for argon2id in Wasm against native)",
        native.as_secs_f64() / login.as_secs_f64().max(f64::MIN_POSITIVE)
    );
    Ok(())
}

/// The login-with-TOTP runs: concurrent clients, over how many users of their own.
const LOGIN_RUNS: [(usize, usize); 2] = [(64, 512), (1000, 1000)];

fn main() -> Result<()> {
    let setup = clients();
    let users: usize = LOGIN_RUNS.iter().map(|(_, users)| users).sum();
    let app = TestApp::migrated(Backend::RedisPostgres, &[("registration_limit_ip", "1000000/3600")]);
    let emails: Vec<String> = (0..users).map(|i| format!("bench{i}@example.com")).collect();

    let registered =
        run("register (argon2id hash)", setup, &emails, |email| match app.register(email, PASSWORD).status {
            201 => Ok(email.clone()),
            status => bail!("registration: {status}"),
        })?;
    let tokens = run("password login, no factor (argon2id verify)", setup, &registered, |email| {
        Ok((email.clone(), field(&app.login(email, PASSWORD, &[]), "token")?))
    })?;

    compare_with_native_argon2(&app, &registered)?;

    let consent = totp_consent(&app)?;
    let started = run("TOTP enrollment: start (secret, URI, QR SVG+PNG)", setup, &tokens, |(email, token)| {
        let body = format!(r#"{{"consent": "{consent}"}}"#);
        let answer = app.post_json("/v1/mfa/totp", &body, &[("authorization", &format!("Bearer {token}"))]);
        Ok((email.clone(), token.clone(), field(&answer, "id")?, secret_of(&field(&answer, "otpauth_uri")?)?))
    })?;
    let enrolled =
        run("TOTP enrollment: confirm (code, 10 backup codes)", setup, &started, |(email, token, id, secret)| {
            let body = format!(r#"{{"code": "{}"}}"#, totp(secret, unix_now())?);
            let path = format!("/v1/mfa/totp/{id}/confirm");
            match app.post_json(&path, &body, &[("authorization", &format!("Bearer {token}"))]).status {
                200 => Ok((email.clone(), secret.clone())),
                status => bail!("confirm: {status}"),
            }
        })?;

    let mut rest = enrolled.as_slice();
    for (clients, users) in LOGIN_RUNS {
        let (these, others) = rest.split_at(users.min(rest.len()));
        rest = others;
        let challenges =
            run("login with TOTP: password step (argon2id, challenge)", clients, these, |(email, secret)| {
                Ok((field(&app.login(email, PASSWORD, &[]), "challenge_id")?, secret.clone()))
            })?;
        run("login with TOTP: verify (code -> aal 2 session)", clients, &challenges, |(challenge, secret)| {
            // The confirmation used the current step: the next one is the first this user has not used.
            let code = totp(secret, unix_now() + 30)?;
            let body = format!(r#"{{"challenge_id": "{challenge}", "method": "totp", "code": "{code}"}}"#);
            match app.post_json("/v1/login/verify", &body, &[]).status {
                201 => Ok(()),
                status => bail!("verify: {status}"),
            }
        })?;
    }
    Ok(())
}
