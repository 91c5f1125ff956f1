//! Where the built components are: `<target>/wasm32-wasip2/release/{mfa_core,session_policy,api}.wasm`.

use std::path::{Path, PathBuf};

/// One of the components this harness loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BuiltComponent {
    /// `components/mfa-core`, built as `mfa_core.wasm`.
    MfaCore,
    /// `components/session-policy`, built as `session_policy.wasm`.
    SessionPolicy,
    /// `components/api`, the Spin HTTP app, built as `api.wasm`.
    Api,
}

impl BuiltComponent {
    /// The file name cargo gives the built component.
    pub fn file_name(self) -> &'static str {
        match self {
            Self::MfaCore => "mfa_core.wasm",
            Self::SessionPolicy => "session_policy.wasm",
            Self::Api => "api.wasm",
        }
    }
}

/// The workspace root (the parent of this crate's directory).
pub fn workspace_dir() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// Cargo's target directory: `CARGO_TARGET_DIR` when set at run time (a relative value is taken from the
/// workspace root), else the one this crate was built with, else `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    let configured = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| option_env!("CARGO_TARGET_DIR").map(PathBuf::from));
    match configured {
        Some(dir) if dir.is_absolute() => dir,
        Some(dir) => workspace_dir().join(dir),
        None => workspace_dir().join("target"),
    }
}

/// The path of a built component: `<target>/wasm32-wasip2/release/<file>`.
pub fn component_path(which: BuiltComponent) -> PathBuf {
    target_dir().join("wasm32-wasip2").join("release").join(which.file_name())
}
