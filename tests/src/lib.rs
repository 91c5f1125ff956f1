//! Harness for running the BUILT `mfa-core` and `session-policy` components in wasmtime.
//!
//! The end-to-end tests (and the benches) never link the components' Rust code: they load the `.wasm` files that
//! `cargo build --target wasm32-wasip2 --release -p mfa-core -p session-policy` produces, instantiate them with the
//! component model and `wasmtime-wasi` (WASI 0.2, synchronous API), and call every export through the typed
//! bindings that [`wasmtime::component::bindgen!`] generates from the WIT packages in `wit/`.
//!
//! - [`engine`] is one process-wide [`Engine`].
//! - Each component is compiled once per process and kept as an [`InstancePre`](wasmtime::component::InstancePre)
//!   (see [`mfa_core_pre`], [`session_policy_pre`]); compiling is the slow part.
//! - [`mfa_core`] and [`session_policy`] then give a fresh [`Store`] and instance per call (cheap), so every test
//!   is isolated from the others, as wasmtime's `serve` command does with a fresh store per request.
//!
//! ```no_run
//! let (mut store, core) = mfa_e2e::mfa_core()?;
//! let code = core
//!     .mfa_core_otp()
//!     .call_hotp_generate(&mut store, b"12345678901234567890", 0, mfa_e2e::otp::Algorithm::Sha1, 6)?;
//! assert_eq!(code, Ok("755224".to_string()));
//! # Ok::<(), anyhow::Error>(())
//! ```

pub mod bindings;
pub mod paths;
pub mod state;

use std::sync::OnceLock;

use anyhow::{Result, anyhow};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, Store};

pub use bindings::{MfaCore, MfaCorePre, SessionPolicy, SessionPolicyPre};
pub use bindings::{backup_codes, numeric_codes, otp, otpauth, phone, qr, secrets};
pub use bindings::{enrollment, policy, risk, sessions, throttle, tokens};
pub use paths::{BuiltComponent, component_path, target_dir, workspace_dir};
pub use state::HostState;

/// The process-wide engine: default Cranelift settings with the component model, synchronous calls.
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = Config::new();
        config.wasm_component_model(true);
        // `Config::new` is infallible for these settings; fall back to the default engine if it ever is not.
        Engine::new(&config).unwrap_or_default()
    })
}

/// A linker with every WASI 0.2 interface (`wasmtime_wasi::p2::add_to_linker_sync`): enough for what Rust's
/// standard library and `wasi:random` pull into a component.
pub fn linker() -> Result<Linker<HostState>> {
    let mut linker = Linker::new(engine());
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(|e| context(e, "adding WASI 0.2 to the linker"))?;
    Ok(linker)
}

/// Reads and compiles one built component (slow: Cranelift compiles the whole module).
///
/// Fails with the command that builds the components when the file is missing.
pub fn load_component(which: BuiltComponent) -> Result<Component> {
    let path = component_path(which);
    if !path.is_file() {
        return Err(anyhow!(
            "{} not found at {}: build the components first with \
             `cargo build --target wasm32-wasip2 --release -p mfa-core -p session-policy`",
            which.file_name(),
            path.display()
        ));
    }
    Component::from_file(engine(), &path).map_err(|e| context(e, format!("compiling {}", path.display())))
}

/// A new store with a fresh [`HostState`] (no arguments, no environment, no files; stderr inherited so a guest
/// panic message is visible).
pub fn new_store() -> Store<HostState> {
    Store::new(engine(), HostState::new())
}

/// A wasmtime error as an `anyhow` error, with what was being done.
fn context(error: wasmtime::Error, doing: impl std::fmt::Display + Send + Sync + 'static) -> anyhow::Error {
    anyhow::Error::from(error).context(doing)
}

/// Compiles a component once per process and keeps the result (or the error message, so every caller reports it).
fn cached<P: Clone>(
    cell: &'static OnceLock<std::result::Result<P, String>>,
    build: impl FnOnce() -> Result<P>,
) -> Result<P> {
    cell.get_or_init(|| build().map_err(|e| format!("{e:#}"))).clone().map_err(|message| anyhow!(message))
}

/// The `mfa-core` component, compiled and linked once per process.
pub fn mfa_core_pre() -> Result<MfaCorePre<HostState>> {
    static PRE: OnceLock<std::result::Result<MfaCorePre<HostState>, String>> = OnceLock::new();
    cached(&PRE, || {
        let component = load_component(BuiltComponent::MfaCore)?;
        let instance_pre = linker()?.instantiate_pre(&component).map_err(|e| context(e, "linking mfa_core.wasm"))?;
        MfaCorePre::new(instance_pre).map_err(|e| context(e, "mfa_core.wasm does not export the `mfa-core` world"))
    })
}

/// The `session-policy` component, compiled and linked once per process.
pub fn session_policy_pre() -> Result<SessionPolicyPre<HostState>> {
    static PRE: OnceLock<std::result::Result<SessionPolicyPre<HostState>, String>> = OnceLock::new();
    cached(&PRE, || {
        let component = load_component(BuiltComponent::SessionPolicy)?;
        let instance_pre =
            linker()?.instantiate_pre(&component).map_err(|e| context(e, "linking session_policy.wasm"))?;
        SessionPolicyPre::new(instance_pre)
            .map_err(|e| context(e, "session_policy.wasm does not export the `session-policy` world"))
    })
}

/// A fresh store and instance of `mfa-core` (world `mfa:core/mfa-core`).
pub fn mfa_core() -> Result<(Store<HostState>, MfaCore)> {
    let pre = mfa_core_pre()?;
    let mut store = new_store();
    let instance = pre.instantiate(&mut store).map_err(|e| context(e, "instantiating mfa-core"))?;
    Ok((store, instance))
}

/// A fresh store and instance of `session-policy` (world `mfa:session/session-policy`).
pub fn session_policy() -> Result<(Store<HostState>, SessionPolicy)> {
    let pre = session_policy_pre()?;
    let mut store = new_store();
    let instance = pre.instantiate(&mut store).map_err(|e| context(e, "instantiating session-policy"))?;
    Ok((store, instance))
}
