//! The attestation object of a registration (WebAuthn §6.5): its format, statement and authenticator data; and the
//! statement's verification for the formats accepted: `none` (empty statement) and `packed` self attestation
//! (§8.2: signed by the credential's own key, no certificate). Certificate-based attestation is refused.

use ciborium::Value;

use super::WebauthnError;
use super::cose_key::PublicKey;

/// An attestation object, read.
#[derive(Debug, Clone, PartialEq)]
pub struct AttestationObject {
    /// `fmt`.
    pub format: String,
    /// `attStmt`, as CBOR.
    pub statement: Vec<(Value, Value)>,
    /// `authData`.
    pub authenticator_data: Vec<u8>,
}

fn malformed(what: &str) -> WebauthnError {
    WebauthnError::Malformed(format!("attestation object: {what}"))
}

/// The entry of `map` under the text key `name`.
fn entry<'m>(map: &'m [(Value, Value)], name: &str) -> Option<&'m Value> {
    map.iter().find(|(key, _)| key.as_text() == Some(name)).map(|(_, value)| value)
}

impl AttestationObject {
    /// Reads the CBOR bytes of an attestation object.
    pub fn read(bytes: &[u8]) -> Result<Self, WebauthnError> {
        let mut rest = bytes;
        let value: Value = ciborium::de::from_reader(&mut rest).map_err(|_| malformed("CBOR"))?;
        if !rest.is_empty() {
            return Err(malformed("bytes left over"));
        }
        let map = value.as_map().ok_or_else(|| malformed("not a map"))?;
        let format = entry(map, "fmt").and_then(Value::as_text).ok_or_else(|| malformed("fmt"))?.to_owned();
        let statement = entry(map, "attStmt").and_then(Value::as_map).ok_or_else(|| malformed("attStmt"))?.clone();
        let authenticator_data =
            entry(map, "authData").and_then(Value::as_bytes).ok_or_else(|| malformed("authData"))?.clone();
        Ok(Self { format, statement, authenticator_data })
    }

    /// Verifies the statement for a credential with `key`, over `authenticator data ‖ client data hash`.
    pub fn verify(&self, key: &PublicKey, client_data_hash: &[u8]) -> Result<(), WebauthnError> {
        match self.format.as_str() {
            "none" if self.statement.is_empty() => Ok(()),
            "none" => Err(malformed("a `none` statement must be empty")),
            "packed" if entry(&self.statement, "x5c").is_some() => {
                Err(WebauthnError::UnsupportedAttestation("packed with a certificate".into()))
            }
            "packed" => {
                let algorithm = entry(&self.statement, "alg")
                    .and_then(Value::as_integer)
                    .and_then(|alg| i32::try_from(i128::from(alg)).ok())
                    .ok_or_else(|| malformed("packed: alg"))?;
                if algorithm != key.algorithm() {
                    return Err(malformed("packed: alg is not the credential's"));
                }
                let signature =
                    entry(&self.statement, "sig").and_then(Value::as_bytes).ok_or_else(|| malformed("packed: sig"))?;
                let mut message = self.authenticator_data.clone();
                message.extend_from_slice(client_data_hash);
                key.verify(&message, signature)
            }
            other => Err(WebauthnError::UnsupportedAttestation(other.to_owned())),
        }
    }
}
