//! `fermyon:spin/variables@2.0.0` for components: each sees only its own `[component.X.variables]`, with Spin's
//! error cases (`invalid-name`, `undefined`).

use wasmtime::component::{HasData, Linker};

use crate::app::variables::{ComponentVariables, GetError};

/// Bindings generated from `host/wit/variables.wit` (Spin's `fermyon:spin/variables@2.0.0`).
#[allow(missing_docs, clippy::all)]
mod bindings {
    wasmtime::component::bindgen!({ path: "wit/variables.wit", world: "host" });
}

use bindings::fermyon::spin::variables::{Error, Host};

/// What `fermyon:spin/variables` needs of a request: the variables of its component.
pub struct VariablesView<'a> {
    /// The variables the component may read.
    pub variables: &'a ComponentVariables,
}

impl Host for VariablesView<'_> {
    fn get(&mut self, name: String) -> Result<String, Error> {
        self.variables.get(&name).map_err(|error| match error {
            GetError::InvalidName(message) => Error::InvalidName(message),
            GetError::Undefined(message) => Error::Undefined(message),
        })
    }
}

/// The interface's data in the store: a [`VariablesView`].
struct Variables;

impl HasData for Variables {
    type Data<'a> = VariablesView<'a>;
}

/// Adds `fermyon:spin/variables@2.0.0` to `linker`, served through the view `view` takes from the store's data.
pub fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    view: fn(&mut T) -> VariablesView<'_>,
) -> wasmtime::Result<()> {
    bindings::fermyon::spin::variables::add_to_linker::<T, Variables>(linker, view)
}
