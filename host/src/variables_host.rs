//! `fermyon:spin/variables@2.0.0` for components: each sees only its own `[component.X.variables]`, with Spin's
//! error cases (`invalid-name`, `undefined`).

use wasmtime::component::Linker;

use crate::state::RequestState;
use crate::variables::GetError;

/// Bindings generated from `host/wit/variables.wit` (Spin's `fermyon:spin/variables@2.0.0`).
#[allow(missing_docs, clippy::all)]
mod bindings {
    wasmtime::component::bindgen!({ path: "wit/variables.wit", world: "host" });
}

use bindings::fermyon::spin::variables::{Error, Host};

impl Host for RequestState {
    fn get(&mut self, name: String) -> Result<String, Error> {
        self.config.variables.get(&name).map_err(|error| match error {
            GetError::InvalidName(message) => Error::InvalidName(message),
            GetError::Undefined(message) => Error::Undefined(message),
        })
    }
}

/// Adds `fermyon:spin/variables@2.0.0` to `linker`.
pub fn add_to_linker(linker: &mut Linker<RequestState>) -> wasmtime::Result<()> {
    bindings::fermyon::spin::variables::add_to_linker::<RequestState, RequestState>(linker, |state| state)
}
