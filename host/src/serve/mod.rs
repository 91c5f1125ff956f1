//! `mfa-host up`: the app loaded once ([`App`]), then served over HTTP with hyper, one fresh store and instance per
//! request, as wasmtime's `serve` and Spin's HTTP trigger do: the server with its connection cap and graceful drain
//! ([`server`]), each request routed, checked and handed to its component ([`dispatch`]), the answers the host makes
//! itself with a JSON error body and the security headers ([`answers`]), the [`Limits`] it serves under, Prometheus
//! [`metrics`] on a separate admin listener, and the optional request sent once at startup ([`startup`]).
//!
//! The top layer: it may import every other one, and none imports it.

pub mod answers;
mod app;
mod dispatch;
mod limits;
pub mod metrics;
pub mod server;
pub mod startup;

pub use app::App;
pub use limits::Limits;
