//! A redis-server of the test's own that speaks only TLS, with a certificate the test gives it.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::ca::ServerCertificate;

/// A TLS-only redis-server on a free port, without persistence, killed when dropped.
pub struct TlsRedis {
    /// Its TLS port on 127.0.0.1.
    pub port: u16,
    dir: PathBuf,
    child: Child,
}

impl TlsRedis {
    /// Starts the server with `certificate` and waits until it accepts connections.
    pub fn start(certificate: &ServerCertificate) -> Self {
        let port = super::free_port();
        let dir = super::scratch("redis-tls", port);
        std::fs::write(dir.join("server.crt"), &certificate.certificate).unwrap();
        std::fs::write(dir.join("server.key"), &certificate.key).unwrap();
        let child = Command::new("redis-server")
            .args(["--port", "0", "--tls-port", &port.to_string(), "--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", "no", "--tls-auth-clients", "no"])
            .arg("--tls-cert-file")
            .arg(dir.join("server.crt"))
            .arg("--tls-key-file")
            .arg(dir.join("server.key"))
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server runs");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(10), "redis-server did not start with TLS");
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { port, dir, child }
    }
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
