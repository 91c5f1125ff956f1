//! The Spin app (`components/api`) end to end: the project's own spin.toml served in-process by mfa-host on a
//! loopback port, with the pure components composed in, on each storage backend: SQLite (a temporary file) and
//! Redis + Postgres (the machine's, or `REDIS_URL` / `DATABASE_URL`; a Postgres database of its own per app,
//! dropped afterwards). Every test case runs on both backends.

mod accounts;
mod app;
mod browser;
mod budget;
mod consent;
mod enforcement;
mod events;
mod examples;
mod feed;
mod hardening;
mod instances;
mod location;
mod operations;
mod outage;
mod passkeys;
mod privacy;
mod race;
mod recovery;
mod second_factors;
mod service;
mod sessions;
mod sms;
mod throttles;
mod tls;
mod totp;
mod twilio;
mod ui;

pub use app::{Backend, TestApp};
