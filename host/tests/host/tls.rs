//! TLS to Postgres and Redis as Spin's clients do it, against servers of the test's own that take only TLS, with
//! certificates from an authority generated here: the host trusts what `SSL_CERT_FILE` holds (as Spin's
//! OpenSSL-based native-tls does); a verified connection works; a certificate from an authority it does not trust
//! is refused, naming why; `sslmode=disable` is plain TCP, which a TLS-only server refuses; a plain `redis://`
//! address does not speak TLS, and `rediss://` must be allowed as such.

use super::postgres::pg;
use super::servers::tls::TlsServers;
use super::{Host, manifest, redis, scratch};

/// The TLS-only servers, and a directory for the fixture's manifest.
struct Fixture {
    servers: TlsServers,
    dir: std::path::PathBuf,
}

impl Fixture {
    fn start() -> Self {
        Self { servers: TlsServers::start(), dir: scratch("tls") }
    }

    /// A host for the fixture that may reach both servers, trusting the roots in `ca_file`.
    fn host(&self, roots: &std::path::Path) -> Host {
        let allowed = format!(
            "allowed_outbound_hosts = [\"postgres://127.0.0.1:{}\", \"rediss://127.0.0.1:{}\"]",
            self.servers.postgres.port, self.servers.redis.port
        );
        let roots = roots.display().to_string();
        Host::start(&manifest(&self.dir, "/...", "", &allowed), &[("SSL_CERT_FILE", &roots)], &[])
    }

    fn postgres_address(&self, sslmode: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres?sslmode={sslmode}", self.servers.postgres.port)
    }
}

const IS_ENCRYPTED: &str = "SELECT CAST(ssl AS TEXT) FROM pg_stat_ssl WHERE pid = pg_backend_pid()";

#[test]
fn postgres_over_tls_is_verified_against_the_trusted_roots() {
    let fixture = Fixture::start();
    let trusting = fixture.host(&fixture.servers.trusted);
    for sslmode in ["require", "prefer"] {
        let (status, body) = pg(&trusting, &fixture.postgres_address(sslmode), &[("q", IS_ENCRYPTED, &[])]);
        assert_eq!(status, 200, "{sslmode}: {body}");
        assert!(body.ends_with("Str(\"true\")"), "{sslmode}: the session is encrypted: {body}");
    }
    // The key=value form carries sslmode the same way.
    let keywords =
        format!("host=127.0.0.1 port={} user=postgres dbname=postgres sslmode=require", fixture.servers.postgres.port);
    let (status, body) = pg(&trusting, &keywords, &[("q", IS_ENCRYPTED, &[])]);
    assert_eq!((status, body.ends_with("Str(\"true\")")), (200, true), "{body}");

    // sslmode=disable is plain TCP, which this server's pg_hba.conf refuses.
    let (status, body) = pg(&trusting, &fixture.postgres_address("disable"), &[("q", "SELECT 1", &[])]);
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("ConnectionFailed") && body.contains("no encryption"), "{body}");

    // A host that trusts another authority refuses the server's certificate, whichever mode asked for TLS.
    let doubting = fixture.host(&fixture.servers.untrusted);
    for sslmode in ["require", "prefer"] {
        let (status, body) = pg(&doubting, &fixture.postgres_address(sslmode), &[("q", "SELECT 1", &[])]);
        assert_eq!(status, 500, "{sslmode}: {body}");
        assert!(
            body.contains("ConnectionFailed") && body.contains("invalid peer certificate: UnknownIssuer"),
            "{body}"
        );
    }
}

#[test]
fn redis_over_tls_is_verified_against_the_trusted_roots() {
    let fixture = Fixture::start();
    let address = format!("rediss://127.0.0.1:{}", fixture.servers.redis.port);
    let trusting = fixture.host(&fixture.servers.trusted);
    assert_eq!(redis(&trusting, &address, "PING", &[]), (200, "status:PONG".to_owned()));

    let doubting = fixture.host(&fixture.servers.untrusted);
    let (status, body) = redis(&doubting, &address, "PING", &[]);
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("invalid peer certificate: UnknownIssuer"), "{body}");

    // `redis://` to the same port would be plain TCP: it is not in allowed_outbound_hosts (only `rediss://` is),
    // as in Spin, where the scheme is part of the allowed host.
    let (status, body) = redis(&trusting, &format!("redis://127.0.0.1:{}", fixture.servers.redis.port), "PING", &[]);
    assert_eq!((status, body.as_str()), (500, "error: Error::InvalidAddress"));
}
