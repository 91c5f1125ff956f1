//! Bench: the MFA flows of the Spin app on the Redis + Postgres backend (spin.toml served in-process by mfa-host,
//! as the end-to-end tests do), each step driven by 64 concurrent clients over loopback (one connection per
//! request), every user used once per step (a TOTP code is accepted once per user and time step, so a flow cannot
//! be replayed on one user):
//!
//! - registration and password login, the steps dominated by password hashing (argon2id), reported on their own;
//! - TOTP enrollment: start (secret, otpauth URI, SVG and PNG QR codes, sealed secret) and confirm (a current code,
//!   the first factor's 10 backup codes);
//! - login with a second factor: the password step (argon2id, then a challenge) and the TOTP verify (challenge,
//!   lockout gate, code, new aal 2 session).
//!
//! Prints figures; asserts nothing about speed. Run with `scripts/bench mfa`. `MFA_BENCH_CLIENTS` sets the number
//! of concurrent clients (default 64; 1 shows a step's cost without contention), `MFA_BENCH_USERS` how many users
//! each step runs over (default 512).

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

/// Runs `step` once per item on [`clients`] threads; prints its rate and latencies; the step's outputs, in the
/// items' order.
fn run<T: Sync, O: Send>(name: &str, items: &[T], step: impl Fn(&T) -> Result<O> + Sync) -> Result<Vec<O>> {
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(items.len()));
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..clients() {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(index) else { break };
                    let began = Instant::now();
                    let outcome = step(item);
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
    println!(
        "{name:<52} {:>7.1} req/s  p50 {:>8.1} ms  p99 {:>8.1} ms  ({} requests, {} clients)",
        results.len() as f64 / elapsed.as_secs_f64(),
        at(0.5),
        at(0.99),
        results.len(),
        clients()
    );
    results.into_iter().map(|(_, _, outcome)| outcome).collect()
}

fn field(answer: &app::Answer, name: &str) -> Result<String> {
    answer
        .json()
        .get(name)
        .and_then(|v| v.as_str())
        .map(str::to_owned)
        .with_context(|| format!("no {name}: {answer:?}"))
}

fn main() -> Result<()> {
    let users: usize = std::env::var("MFA_BENCH_USERS").ok().and_then(|s| s.parse().ok()).unwrap_or(512);
    let app = TestApp::migrated(Backend::RedisPostgres, &[("registration_limit_ip", "1000000/3600")]);
    let emails: Vec<String> = (0..users).map(|i| format!("bench{i}@example.com")).collect();

    run("register (argon2id hash)", &emails, |email| match app.register(email, PASSWORD).status {
        201 => Ok(()),
        status => bail!("registration: {status}"),
    })?;
    let tokens = run("password login, no factor (argon2id verify)", &emails, |email| {
        field(&app.login(email, PASSWORD, &[]), "token")
    })?;

    let started = run("TOTP enrollment: start (secret, URI, QR SVG+PNG)", &tokens, |token| {
        let answer = app.post_json("/v1/mfa/totp", "", &[("authorization", &format!("Bearer {token}"))]);
        Ok((token.clone(), field(&answer, "id")?, secret_of(&field(&answer, "otpauth_uri")?)?))
    })?;
    let secrets = run("TOTP enrollment: confirm (code, 10 backup codes)", &started, |(token, id, secret)| {
        let body = format!(r#"{{"code": "{}"}}"#, totp(secret, unix_now())?);
        let path = format!("/v1/mfa/totp/{id}/confirm");
        match app.post_json(&path, &body, &[("authorization", &format!("Bearer {token}"))]).status {
            200 => Ok(secret.clone()),
            status => bail!("confirm: {status}"),
        }
    })?;

    let pairs: Vec<(String, Vec<u8>)> = emails.into_iter().zip(secrets).collect();
    let challenges = run("login with TOTP: password step (argon2id, challenge)", &pairs, |(email, secret)| {
        Ok((field(&app.login(email, PASSWORD, &[]), "challenge_id")?, secret.clone()))
    })?;
    run("login with TOTP: verify (code -> aal 2 session)", &challenges, |(challenge, secret)| {
        // The confirmation used the current step: the next one is the first this user has not used.
        let code = totp(secret, unix_now() + 30)?;
        let body = format!(r#"{{"challenge_id": "{challenge}", "method": "totp", "code": "{code}"}}"#);
        match app.post_json("/v1/login/verify", &body, &[]).status {
            201 => Ok(()),
            status => bail!("verify: {status}"),
        }
    })?;
    Ok(())
}
