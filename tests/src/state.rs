//! The store state: a WASI 0.2 context and its resource table, implementing `wasmtime_wasi::WasiView`.

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

/// What each [`wasmtime::Store`] holds: a WASI context (no arguments, environment, files or network; stderr
/// inherited so a guest panic message reaches the test output; `wasi:random` from the host's secure source) and
/// the table of WASI resources the guest opened.
pub struct HostState {
    ctx: WasiCtx,
    table: ResourceTable,
}

impl HostState {
    /// A fresh state with the minimal WASI context described on [`HostState`].
    pub fn new() -> Self {
        Self { ctx: WasiCtxBuilder::new().inherit_stderr().build(), table: ResourceTable::new() }
    }
}

impl Default for HostState {
    fn default() -> Self {
        Self::new()
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.ctx, table: &mut self.table }
    }
}
