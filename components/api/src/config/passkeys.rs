//! The passkey (WebAuthn) relying party: `webauthn_rp_id` (the domain passkeys are scoped to; `localhost` unless
//! set), `webauthn_rp_name` (shown by the browser; the TOTP issuer, else "MFA"), `webauthn_origins` (the pages
//! allowed to run ceremonies, comma separated, each `https://host[:port]`, or `http://` for localhost only, and
//! `:*` for any port; every host must be the RP ID or under it; unless set, `https://<rp id>`, and any port of
//! `http://localhost` and `https://localhost` for the RP ID `localhost`), `webauthn_user_verification`
//! (`preferred`, the default, or `required`: whether a passkey used as a second factor must have verified its
//! user; a passwordless sign-in always must) and `webauthn_counter_regression` (`refuse`, the default, or `allow`:
//! what a signature counter that did not advance does besides its event).

use super::policy::PolicyError;
use super::variables::Lookup;

/// How the relying party is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeySettings {
    /// The RP ID.
    pub rp_id: String,
    /// The RP name.
    pub rp_name: String,
    /// The origins allowed (exact, or `scheme://host:*`).
    pub origins: Vec<String>,
    /// Whether a second-factor passkey must have verified its user.
    pub require_user_verification: bool,
    /// Whether a counter regression refuses the sign-in.
    pub refuse_counter_regression: bool,
}

impl PasskeySettings {
    /// What the browser is asked for: `required` or `preferred`.
    pub fn user_verification(&self) -> &'static str {
        if self.require_user_verification { "required" } else { "preferred" }
    }
}

/// A variable's value, trimmed; `None` when unset or empty.
fn value(get: Lookup<'_>, name: &'static str) -> Option<String> {
    get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Whether `host` is a domain name (lower-case letters, digits, `-`, dot-separated labels, a letter somewhere).
fn is_domain(host: &str) -> bool {
    host.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    }) && host.bytes().any(|b| b.is_ascii_lowercase())
        && host.len() <= 253
}

/// Checks one origin against the RP ID.
fn check_origin(origin: &str, rp_id: &str) -> Result<(), PolicyError> {
    let bad = |why: &str| PolicyError(format!("webauthn_origins: {origin:?} {why}"));
    let (scheme, rest) = origin.split_once("://").ok_or_else(|| bad("is not scheme://host[:port]"))?;
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (rest, None),
    };
    if let Some(port) = port
        && port != "*"
        && (port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad("has a port that is neither a number nor *"));
    }
    if !is_domain(host) {
        return Err(bad("has no domain name as its host (no path, no address)"));
    }
    if (scheme == "https" && port == Some("443")) || (scheme == "http" && port == Some("80")) {
        return Err(bad("names the scheme's default port, which browsers never send: leave it out"));
    }
    if host != rp_id && !host.ends_with(&format!(".{rp_id}")) {
        return Err(bad("is not the RP ID nor under it"));
    }
    let local = host == "localhost" || host.ends_with(".localhost");
    match scheme {
        "https" => Ok(()),
        "http" if local => Ok(()),
        "http" => Err(bad("must be https (http only for localhost)")),
        _ => Err(bad("must be https")),
    }
}

/// The relying party in force.
pub fn read(get: Lookup<'_>) -> Result<PasskeySettings, PolicyError> {
    let rp_id = value(get, "webauthn_rp_id").unwrap_or_else(|| "localhost".to_owned());
    if !is_domain(&rp_id) || (rp_id != "localhost" && !rp_id.contains('.')) {
        return Err(PolicyError(format!("webauthn_rp_id must be a lower-case domain name, not {rp_id:?}")));
    }
    let origins: Vec<String> = match value(get, "webauthn_origins") {
        Some(list) => list.split(',').map(|origin| origin.trim().to_owned()).filter(|o| !o.is_empty()).collect(),
        None if rp_id == "localhost" => vec!["http://localhost:*".to_owned(), "https://localhost:*".to_owned()],
        None => vec![format!("https://{rp_id}")],
    };
    for origin in &origins {
        check_origin(origin, &rp_id)?;
    }
    let rp_name = value(get, "webauthn_rp_name").or_else(|| value(get, "totp_issuer")).unwrap_or_else(|| "MFA".into());
    let require_user_verification = match value(get, "webauthn_user_verification").as_deref() {
        None | Some("preferred") => false,
        Some("required") => true,
        Some(_) => return Err(PolicyError("webauthn_user_verification must be preferred or required".to_owned())),
    };
    let refuse_counter_regression = match value(get, "webauthn_counter_regression").as_deref() {
        None | Some("refuse") => true,
        Some("allow") => false,
        Some(_) => return Err(PolicyError("webauthn_counter_regression must be refuse or allow".to_owned())),
    };
    Ok(PasskeySettings { rp_id, rp_name, origins, require_user_verification, refuse_counter_regression })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    fn read_with(pairs: &[(&'static str, &str)]) -> Result<PasskeySettings, PolicyError> {
        Settings::from_pairs(pairs).passkeys()
    }

    #[test]
    fn defaults_serve_localhost_on_any_port() {
        let settings = read_with(&[]).unwrap();
        assert_eq!(settings.rp_id, "localhost");
        assert_eq!(settings.origins, ["http://localhost:*", "https://localhost:*"]);
        assert_eq!((settings.user_verification(), settings.refuse_counter_regression), ("preferred", true));
        let named = read_with(&[("webauthn_rp_id", "example.com"), ("totp_issuer", "Acme")]).unwrap();
        assert_eq!((named.origins, named.rp_name), (vec!["https://example.com".to_owned()], "Acme".to_owned()));
    }

    #[test]
    fn origins_must_be_under_the_rp_id_and_https_off_localhost() {
        let with = |origins| read_with(&[("webauthn_rp_id", "example.com"), ("webauthn_origins", origins)]);
        assert!(with("https://example.com, https://login.example.com:8443").is_ok());
        for bad in [
            "http://example.com",
            "https://example.org",
            "https://badexample.com",
            "https://example.com/path",
            "https://example.com:x",
            "https://example.com:443",
            "ftp://example.com",
            "example.com",
        ] {
            assert!(with(bad).is_err(), "{bad}");
        }
        assert!(read_with(&[("webauthn_rp_id", "10.0.0.1")]).is_err());
        assert!(read_with(&[("webauthn_rp_id", "com")]).is_err());
        assert!(read_with(&[("webauthn_rp_id", "Example.com")]).is_err());
        assert!(read_with(&[("webauthn_user_verification", "always")]).is_err());
        assert!(read_with(&[("webauthn_counter_regression", "ignore")]).is_err());
        assert!(read_with(&[("webauthn_user_verification", "required")]).unwrap().require_user_verification);
    }
}
