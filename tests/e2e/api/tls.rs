//! TLS to Postgres and Redis (README, "TLS to Postgres and Redis"): a private Postgres that accepts only TLS
//! clients (`hostssl`) and a private redis-server that speaks only TLS, both with a certificate from a certificate
//! authority generated here. The app, given `postgres_sslmode = require` and `redis_tls = true`, and its host,
//! given that authority in `SSL_CERT_FILE` (as Spin's OpenSSL-based clients take it), runs a login and session
//! checks over verified TLS, every session it holds on the server encrypted, and Redis never fallen back from. A
//! host that trusts another authority, or an app that asks for plain TCP, reaches neither: the service is not ready.

use serde_json::json;

use super::TestApp;
use super::app::Backend;
use super::totp::bearer;
use crate::servers::tls::TlsServers;

const PASSWORD: &str = "correct horse battery staple";

/// The app's variables for `servers`, with `sslmode`.
fn variables(servers: &TlsServers, sslmode: &str) -> Vec<(&'static str, String)> {
    vec![
        ("postgres_host", "127.0.0.1".to_owned()),
        ("postgres_port", servers.postgres.port.to_string()),
        ("postgres_user", "postgres".to_owned()),
        ("postgres_password", String::new()),
        ("postgres_database", "mfa".to_owned()),
        ("postgres_sslmode", sslmode.to_owned()),
        ("redis_host", "127.0.0.1".to_owned()),
        ("redis_port", servers.redis.port.to_string()),
        ("redis_password", String::new()),
        ("redis_tls", "true".to_owned()),
    ]
}

/// How many of the app's sessions on the server are (`true`) or are not (`false`) encrypted.
fn sessions(servers: &TlsServers, encrypted: bool) -> String {
    let query = format!(
        "SELECT CAST(COUNT(*) AS TEXT) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
             WHERE a.datname = 'mfa' AND s.ssl = {encrypted}"
    );
    servers.postgres.column("postgres", &query).remove(0).unwrap_or_default()
}

/// The servers, with the app's database created.
fn start() -> TlsServers {
    let servers = TlsServers::start();
    servers.postgres.execute("CREATE DATABASE mfa");
    servers
}

fn pairs<'a>(variables: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    variables.iter().map(|(name, value)| (*name, value.as_str())).collect()
}

#[test]
fn the_app_logs_in_over_verified_tls_to_postgres_and_redis() {
    let servers = start();
    let ca_file = servers.trusted.display().to_string();
    let variables = variables(&servers, "require");
    let app =
        TestApp::migrated_with_host(Backend::RedisPostgres, &pairs(&variables), "", &[("SSL_CERT_FILE", &ca_file)]);

    let ready = app.get("/readyz");
    assert_eq!(ready.status, 200, "{ready:?}");
    assert_eq!(ready.json()["degraded"], json!([]), "Redis is reached over TLS, not fallen back from: {ready:?}");
    assert_eq!(app.register("tls@example.com", PASSWORD).status, 201);
    let login = app.login("tls@example.com", PASSWORD, &[]);
    assert_eq!(login.status, 201, "{login:?}");
    let token = login.json()["token"].as_str().unwrap().to_owned();
    let session = app.request("GET", "/v1/session", &[("authorization", &bearer(&token))], "");
    assert_eq!(session.status, 200, "{session:?}");

    let metrics = app.request("GET", "/v1/admin/metrics", &[("authorization", &bearer(&app.api_key))], "");
    assert_eq!(metrics.status, 200, "{metrics:?}");
    let fallbacks = metrics.body.lines().filter(|line| line.starts_with("mfa_redis_fallbacks_total"));
    assert!(fallbacks.clone().all(|line| line.ends_with(" 0")), "no request fell back to Postgres: {metrics:?}");
    assert_ne!(sessions(&servers, true), "0", "the app holds sessions on the server");
    assert_eq!(sessions(&servers, false), "0", "every session the app holds is encrypted");
}

#[test]
fn an_untrusted_certificate_or_plain_tcp_reaches_no_store() {
    let servers = start();
    let other_file = servers.untrusted.display().to_string();
    let cases = [
        ("require", other_file.as_str(), "a certificate from an authority the host does not trust"),
        ("prefer", other_file.as_str(), "the default mode verifies what the server offers"),
        ("disable", "", "plain TCP to a server that takes only TLS"),
    ];
    for (sslmode, ca_file, why) in cases {
        let variables = variables(&servers, sslmode);
        let app =
            TestApp::spawn_with_host(Backend::RedisPostgres, &pairs(&variables), "", &[("SSL_CERT_FILE", ca_file)]);
        let ready = app.get("/readyz");
        assert_eq!(ready.status, 503, "{why}: {ready:?}");
        assert_eq!(ready.error_code(), "not_ready", "{why}: {ready:?}");
        assert_eq!(app.post_with_key("/v1/admin/migrate", "").status, 503, "{why}");
    }
    assert_eq!(sessions(&servers, true), "0", "no session was opened");
}
