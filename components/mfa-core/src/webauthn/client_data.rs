//! The client data of a ceremony (WebAuthn §5.8.1, `CollectedClientData`): read from the JSON the client sent, and
//! checked against what the relying party expects (type, challenge in constant time, origin, not cross-origin).

use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::WebauthnError;

/// The client data type of a registration.
pub const CREATE: &str = "webauthn.create";

/// The client data type of an authentication.
pub const GET: &str = "webauthn.get";

/// The fields of `CollectedClientData` a relying party checks (others, such as `topOrigin`, are ignored).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ClientData {
    /// `webauthn.create` or `webauthn.get`.
    #[serde(rename = "type")]
    pub ceremony: String,
    /// The challenge, base64url without padding.
    pub challenge: String,
    /// The origin of the calling page.
    pub origin: String,
    /// Whether the ceremony ran in a cross-origin iframe.
    #[serde(rename = "crossOrigin", default)]
    pub cross_origin: bool,
}

impl ClientData {
    /// Reads the client data from its JSON bytes.
    pub fn read(json: &[u8]) -> Result<Self, WebauthnError> {
        serde_json::from_slice(json).map_err(|_| WebauthnError::Malformed("client data JSON".into()))
    }

    /// Checks the client data of a `ceremony` against `challenge` and the allowed `origins`.
    pub fn check(&self, ceremony: &str, challenge: &str, origins: &[String]) -> Result<(), WebauthnError> {
        if self.ceremony != ceremony {
            return Err(WebauthnError::WrongCeremony);
        }
        if !bool::from(self.challenge.as_bytes().ct_eq(challenge.as_bytes())) {
            return Err(WebauthnError::ChallengeMismatch);
        }
        if !origins.iter().any(|allowed| origin_allowed(allowed, &self.origin)) {
            return Err(WebauthnError::OriginNotAllowed(self.origin.clone()));
        }
        if self.cross_origin {
            return Err(WebauthnError::CrossOrigin);
        }
        Ok(())
    }
}

/// Whether `origin` is `allowed`: equal to it, or, when `allowed` ends in `:*`, its scheme and host with any port
/// (or none).
pub fn origin_allowed(allowed: &str, origin: &str) -> bool {
    match allowed.strip_suffix(":*") {
        Some(base) => match origin.strip_prefix(base) {
            Some("") => true,
            Some(rest) => rest
                .strip_prefix(':')
                .is_some_and(|port| (1..=5).contains(&port.len()) && port.bytes().all(|b| b.is_ascii_digit())),
            None => false,
        },
        None => allowed == origin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origins(list: &[&str]) -> Vec<String> {
        list.iter().map(|origin| (*origin).to_owned()).collect()
    }

    #[test]
    fn reads_the_fields_and_ignores_the_rest() {
        let json = br#"{"type":"webauthn.get","challenge":"abc","origin":"https://a.example","topOrigin":"x"}"#;
        let data = ClientData::read(json).unwrap();
        assert_eq!(data.ceremony, GET);
        assert_eq!(data.challenge, "abc");
        assert!(!data.cross_origin);
        assert!(matches!(ClientData::read(b"{\"type\":1}"), Err(WebauthnError::Malformed(_))));
        assert!(matches!(ClientData::read(b"\xff"), Err(WebauthnError::Malformed(_))));
    }

    #[test]
    fn checks_type_challenge_origin_and_frame() {
        let data = ClientData {
            ceremony: GET.into(),
            challenge: "c1".into(),
            origin: "https://a.example".into(),
            cross_origin: false,
        };
        let allowed = origins(&["https://a.example"]);
        assert_eq!(data.check(GET, "c1", &allowed), Ok(()));
        assert_eq!(data.check(CREATE, "c1", &allowed), Err(WebauthnError::WrongCeremony));
        assert_eq!(data.check(GET, "c2", &allowed), Err(WebauthnError::ChallengeMismatch));
        assert_eq!(data.check(GET, "c", &allowed), Err(WebauthnError::ChallengeMismatch));
        let other = origins(&["https://b.example"]);
        assert_eq!(data.check(GET, "c1", &other), Err(WebauthnError::OriginNotAllowed("https://a.example".into())));
        let framed = ClientData { cross_origin: true, ..data };
        assert_eq!(framed.check(GET, "c1", &allowed), Err(WebauthnError::CrossOrigin));
    }

    #[test]
    fn a_port_wildcard_matches_ports_of_that_host_only() {
        assert!(origin_allowed("http://localhost:*", "http://localhost:3000"));
        assert!(origin_allowed("http://localhost:*", "http://localhost"));
        assert!(!origin_allowed("http://localhost:*", "http://localhost.evil.example:3000"));
        assert!(!origin_allowed("http://localhost:*", "http://localhost:30a0"));
        assert!(!origin_allowed("http://localhost:*", "http://localhost:123456"));
        assert!(!origin_allowed("http://localhost:*", "https://localhost:3000"));
        assert!(origin_allowed("https://a.example", "https://a.example"));
        assert!(!origin_allowed("https://a.example", "https://a.example:8443"));
    }
}
