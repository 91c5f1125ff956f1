//! mfa-core outside Rust: the built component transpiled by jco (`@bytecodealliance/jco`, installed in
//! `tests/jco/` by `npm ci`) and run in Node, where `tests/jco/verify.mjs` checks the RFC 6238 Appendix B vectors
//! and a typed error through the component's JavaScript exports.

use std::process::Command;

use anyhow::{Context, Result, bail};
use mfa_e2e::{BuiltComponent, component_path, workspace_dir};

/// Runs a command, failing with its output when it exits unsuccessfully; returns its standard output.
fn run(command: &mut Command) -> Result<String> {
    let output = command.output().with_context(|| format!("starting {command:?}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        bail!("{command:?} failed ({}):\n{stdout}\n{}", output.status, String::from_utf8_lossy(&output.stderr));
    }
    Ok(stdout)
}

#[test]
fn mfa_core_runs_in_node_through_jco() -> Result<()> {
    let jco_dir = workspace_dir().join("tests/jco");
    let jco = jco_dir.join("node_modules/@bytecodealliance/jco/dist/jco.js");
    if !jco.is_file() {
        bail!("jco is not installed: run `npm ci --prefix tests/jco` (./scripts/test does)");
    }
    let wasm = component_path(BuiltComponent::MfaCore);
    // Inside tests/jco so the generated module resolves `@bytecodealliance/preview2-shim` from its node_modules.
    let out = jco_dir.join("generated/mfa-core");
    run(Command::new("node").arg(&jco).arg("transpile").arg(&wasm).arg("-o").arg(&out).arg("--quiet"))?;
    let stdout = run(Command::new("node").arg(jco_dir.join("verify.mjs")).arg(&out).current_dir(&jco_dir))?;
    assert!(stdout.contains("jco: 22 passed, 0 failed"), "{stdout}");
    Ok(())
}
