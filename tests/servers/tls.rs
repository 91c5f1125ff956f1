//! A Postgres that takes only TLS clients and a redis-server that speaks only TLS, both with a certificate for
//! `127.0.0.1` and `localhost` from an authority made here, and two root files: that authority, and another.

use std::path::PathBuf;

use super::ca::TestCa;
use super::postgres::{PrivatePostgres, Settings};
use super::redis::TlsRedis;

/// The servers and the root files; all gone when dropped.
pub struct TlsServers {
    /// The TLS-only Postgres.
    pub postgres: PrivatePostgres,
    /// The TLS-only Redis.
    pub redis: TlsRedis,
    /// The servers' authority, as a PEM file.
    pub trusted: PathBuf,
    /// Another authority, as a PEM file.
    pub untrusted: PathBuf,
    dir: PathBuf,
}

impl TlsServers {
    /// Starts both servers.
    pub fn start() -> Self {
        let ca = TestCa::new("mfa test authority");
        let certificate = ca.issue(&["127.0.0.1", "localhost"]);
        let postgres =
            PrivatePostgres::start(Settings { tls: Some(&certificate), tls_only: true, ..Settings::default() });
        let redis = TlsRedis::start(&certificate);
        let dir = super::scratch("tls-roots", postgres.port);
        let trusted = ca.write(&dir, "ca.pem");
        let untrusted = TestCa::new("another authority").write(&dir, "other.pem");
        Self { postgres, redis, trusted, untrusted, dir }
    }
}

impl Drop for TlsServers {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
