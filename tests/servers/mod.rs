//! Servers of a test's own, each on a free port in a temporary directory and stopped when dropped: a Postgres
//! cluster ([`postgres`]: initdb + pg_ctl, its connection slots and TLS set by the test) and a redis-server over TLS
//! ([`redis`]), with a certificate authority made in the test ([`ca`]) to sign their certificates. Shared by
//! mfa-host's tests and the app's end-to-end tests through `#[path]`; [`tls`] puts the TLS pair together.

#![allow(dead_code)]

pub mod ca;
pub mod postgres;
pub mod redis;
pub mod tls;

/// A fresh directory under the system's temporary directory, named after `what`, this process and `port`.
fn scratch(what: &str, port: u16) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mfa-{what}-{}-{port}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}
