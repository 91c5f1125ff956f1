//! Bench: TOTP verify operations per second natively and inside the built mfa-core component through wasmtime,
//! plus the size of each `.wasm`. Prints figures; asserts nothing about speed.
//!
//! Run with `cargo bench -p mfa-e2e --bench totp_verify` after building the components
//! (`cargo build --release --target wasm32-wasip2 -p mfa-core -p session-policy`).
//! `MFA_BENCH_SECONDS` sets how long each measurement runs (default 3).

use std::hint::black_box;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use mfa_core::otp::{self as native, TotpParams};
use mfa_e2e::{BuiltComponent, component_path, otp};

const SECRET: &[u8] = b"12345678901234567890";
const NOW: u64 = 1_700_000_000;

/// Calls `op` repeatedly for `duration` and returns (calls per second, mean nanoseconds per call).
fn measure(duration: Duration, mut op: impl FnMut() -> Result<()>) -> Result<(f64, f64)> {
    // Warm up caches and lazy initialisation first.
    for _ in 0..100 {
        op()?;
    }
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed() < duration {
        for _ in 0..100 {
            op()?;
        }
        calls += 100;
    }
    let seconds = start.elapsed().as_secs_f64();
    Ok((calls as f64 / seconds, seconds * 1e9 / calls as f64))
}

fn report(name: &str, (per_second, nanos): (f64, f64)) {
    println!("{name:<52} {per_second:>12.0} ops/s {:>10.2} µs/op", nanos / 1000.0);
}

fn main() -> Result<()> {
    let seconds = std::env::var("MFA_BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let duration = Duration::from_secs_f64(seconds);
    let params = TotpParams::default();
    let code = native::totp_generate(SECRET, &params, NOW)?;
    println!("TOTP verify, SHA1, 6 digits, window ±1 (3 HMACs), code of the current step, {seconds} s each\n");

    let native_figures = measure(duration, || {
        let verdict = native::totp_verify(black_box(SECRET), &params, black_box(&code), NOW, 1, None)?;
        if verdict != native::TotpVerdict::Accepted(NOW / 30) {
            bail!("native verify returned {verdict:?}");
        }
        Ok(())
    })?;
    report("native (mfa_core::otp::totp_verify)", native_figures);

    let wit_params = otp::TotpParams { algorithm: otp::Algorithm::Sha1, digits: 6, period: 30 };
    let (mut store, core) = mfa_e2e::mfa_core()?;
    let wasm_figures = measure(duration, || {
        let verdict = core.mfa_core_otp().call_totp_verify(
            &mut store,
            black_box(SECRET),
            wit_params,
            black_box(&code),
            NOW,
            1,
            None,
        )?;
        if verdict != Ok(otp::TotpVerdict::Accepted(NOW / 30)) {
            bail!("component verify returned {verdict:?}");
        }
        Ok(())
    })?;
    report("component, one instance reused (wasmtime)", wasm_figures);

    let step_figures = measure(duration, || {
        let step = core.mfa_core_otp().call_totp_step(&mut store, wit_params, black_box(NOW))?;
        if step != Ok(NOW / 30) {
            bail!("component totp-step returned {step:?}");
        }
        Ok(())
    })?;
    report("component call overhead (otp.totp-step, no hashing)", step_figures);

    let fresh_figures = measure(duration, || {
        let (mut store, core) = mfa_e2e::mfa_core()?;
        let verdict = core.mfa_core_otp().call_totp_verify(&mut store, SECRET, wit_params, &code, NOW, 1, None)?;
        if verdict != Ok(otp::TotpVerdict::Accepted(NOW / 30)) {
            bail!("component verify returned {verdict:?}");
        }
        Ok(())
    })?;
    report("component, fresh store + instance per call", fresh_figures);

    println!("\ncomponent / native (instance reused): {:.2}x", wasm_figures.0 / native_figures.0);
    println!("component / native (fresh instance):  {:.2}x\n", fresh_figures.0 / native_figures.0);

    for which in [BuiltComponent::MfaCore, BuiltComponent::SessionPolicy] {
        let path = component_path(which);
        let bytes = std::fs::metadata(&path)?.len();
        println!("{:<22} {:>9} bytes ({:.0} KiB)", which.file_name(), bytes, bytes as f64 / 1024.0);
    }
    Ok(())
}
