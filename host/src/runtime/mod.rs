//! Running components: the wasmtime engine and the clock that stops guests over their time budget ([`engine`]), the
//! linker holding exactly what this host implements, each Spin interface added through its view ([`linker`]), the
//! per-request store state the views are taken from ([`state`]) with its memory caps ([`memory`]), the app's
//! components loaded once at startup ([`components`]), and one request run in a fresh store and instance, or in
//! one kept from an earlier request when reuse is asked for ([`call`], [`reuse`]).
//!
//! Imports [`crate::capabilities`] and [`crate::app`], never [`crate::serve`].

pub mod call;
pub mod components;
pub mod engine;
pub mod linker;
pub mod memory;
pub mod reuse;
pub mod state;
