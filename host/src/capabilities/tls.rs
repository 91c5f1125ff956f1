//! The certificates mfa-host trusts when it speaks TLS to Postgres and Redis, chosen as Spin's clients choose
//! theirs. Spin 4.0.2 verifies every TLS server (Postgres unless the address says `sslmode=disable`; Redis for a
//! `rediss://` address) with native-tls, which on Linux is OpenSSL: the platform's store, or exactly the bundle
//! `SSL_CERT_FILE` and the directory `SSL_CERT_DIR` name when either is set. mfa-host reads the same variables (from
//! the environment it is given) into one root store at load, so a private CA is trusted the same way under both:
//! put it in `SSL_CERT_FILE`. Spin has no runtime-config entry for a Postgres or Redis root CA (its
//! `[[client_tls]]` applies to outbound HTTP only), so neither has mfa-host.

use std::path::Path;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// Why the trusted certificates cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// `SSL_CERT_FILE` or `SSL_CERT_DIR` names something unreadable.
    #[error("{variable}={path}: {message}")]
    Unreadable {
        /// The variable.
        variable: &'static str,
        /// Its value.
        path: String,
        /// What went wrong.
        message: String,
    },
}

/// The roots TLS servers are verified against.
#[derive(Clone)]
pub struct TrustedRoots {
    store: Arc<RootCertStore>,
    /// The certificates as PEM when they came from `SSL_CERT_FILE` / `SSL_CERT_DIR` (Redis' client takes them so);
    /// `None` for the platform's store, which Redis' client reads itself.
    pem: Option<Arc<Vec<u8>>>,
}

impl std::fmt::Debug for TrustedRoots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustedRoots").field("roots", &self.store.len()).finish_non_exhaustive()
    }
}

impl TrustedRoots {
    /// The roots `SSL_CERT_FILE` and `SSL_CERT_DIR` name, as looked up by `env`, or the platform's when neither is
    /// set. A certificate that does not parse is skipped (as OpenSSL skips it); an unreadable file is an error.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<Self, TrustError> {
        let file = env("SSL_CERT_FILE").filter(|value| !value.is_empty());
        let dir = env("SSL_CERT_DIR").filter(|value| !value.is_empty());
        if file.is_none() && dir.is_none() {
            return Ok(Self::platform());
        }
        let mut pem = Vec::new();
        if let Some(file) = &file {
            pem.extend(read("SSL_CERT_FILE", file, Path::new(file))?);
        }
        for dir in dir.iter().flat_map(|dirs| dirs.split(':')).filter(|dir| !dir.is_empty()) {
            let entries = std::fs::read_dir(dir).map_err(|error| unreadable("SSL_CERT_DIR", dir, &error))?;
            let mut paths: Vec<_> = entries.filter_map(Result::ok).map(|entry| entry.path()).collect();
            paths.sort();
            for path in paths.iter().filter(|path| path.is_file()) {
                pem.extend(read("SSL_CERT_DIR", dir, path)?);
                pem.push(b'\n');
            }
        }
        Ok(Self::from_pem(pem))
    }

    /// Exactly the certificates in `pem` (a PEM bundle).
    pub fn from_pem(pem: Vec<u8>) -> Self {
        let mut store = RootCertStore::empty();
        let (added, skipped) =
            store.add_parsable_certificates(CertificateDer::pem_slice_iter(&pem).filter_map(Result::ok));
        tracing::debug!(added, skipped, "trusted TLS roots read");
        Self { store: Arc::new(store), pem: Some(Arc::new(pem)) }
    }

    /// The platform's store.
    fn platform() -> Self {
        let found = rustls_native_certs::load_native_certs();
        for error in &found.errors {
            tracing::debug!(%error, "a platform certificate could not be read");
        }
        let mut store = RootCertStore::empty();
        let (added, skipped) = store.add_parsable_certificates(found.certs);
        tracing::debug!(added, skipped, "platform TLS roots read");
        Self { store: Arc::new(store), pem: None }
    }

    /// A TLS client configuration that verifies servers against these roots (ring, rustls' safe defaults).
    pub fn client_config(&self) -> Result<rustls::ClientConfig, rustls::Error> {
        let builder = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?;
        Ok(builder.with_root_certificates(self.store.clone()).with_no_client_auth())
    }

    /// The roots as a PEM bundle for Redis' client, or `None` to let it read the platform's store itself.
    pub fn pem(&self) -> Option<Vec<u8>> {
        self.pem.as_ref().map(|pem| pem.as_ref().clone())
    }
}

fn unreadable(variable: &'static str, path: &str, error: &std::io::Error) -> TrustError {
    TrustError::Unreadable { variable, path: path.to_owned(), message: error.to_string() }
}

fn read(variable: &'static str, shown: &str, path: &Path) -> Result<Vec<u8>, TrustError> {
    std::fs::read(path).map_err(|error| unreadable(variable, shown, &error))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn certificate(name: &str) -> String {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec![name.to_owned()]).unwrap();
        params.self_signed(&key).unwrap().pem()
    }

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("mfa-host-tls-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn ssl_cert_file_and_dir_replace_the_platform_store() {
        let dir = scratch("roots");
        let file = dir.join("bundle.pem");
        std::fs::write(&file, format!("{}{}", certificate("a.test"), certificate("b.test"))).unwrap();
        let certs = dir.join("certs");
        std::fs::create_dir_all(&certs).unwrap();
        std::fs::write(certs.join("c.pem"), certificate("c.test")).unwrap();
        std::fs::write(certs.join("notes.txt"), "not a certificate").unwrap();
        let (file_s, certs_s) = (file.display().to_string(), certs.display().to_string());

        let only_file = TrustedRoots::from_env(|name| (name == "SSL_CERT_FILE").then(|| file_s.clone())).unwrap();
        assert_eq!(only_file.store.len(), 2);
        assert!(only_file.pem().is_some_and(|pem| pem.starts_with(b"-----BEGIN CERTIFICATE-----")));
        let both = TrustedRoots::from_env(|name| match name {
            "SSL_CERT_FILE" => Some(file_s.clone()),
            "SSL_CERT_DIR" => Some(certs_s.clone()),
            _ => None,
        })
        .unwrap();
        assert_eq!(both.store.len(), 3);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_unreadable_bundle_is_an_error_naming_the_variable() {
        let missing = TrustedRoots::from_env(|name| (name == "SSL_CERT_FILE").then(|| "/no/such/ca.pem".to_owned()));
        let message = missing.unwrap_err().to_string();
        assert!(message.starts_with("SSL_CERT_FILE=/no/such/ca.pem: "), "{message}");
        let empty = TrustedRoots::from_pem(b"no certificates here".to_vec());
        assert!(empty.store.is_empty());
    }
}
