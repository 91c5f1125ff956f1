//! Credential public keys (COSE_Key, RFC 9052 §7, read by `coset`) and signature verification for the three
//! algorithms accepted: ES256 (EC2 on P-256, ASN.1 DER signature), EdDSA (OKP Ed25519, strict verification) and
//! RS256 (RSA of 2048 to 4096 bits, PKCS#1 v1.5 with SHA-256).

use coset::iana::{self, EnumI64};
use coset::{Algorithm, CborSerializable, CoseKey, KeyType, Label, RegisteredLabel, RegisteredLabelWithPrivate};
use rsa::BoxedUint;
use rsa::signature::Verifier;
use sha2::Sha256;

use super::WebauthnError;

/// ES256's COSE algorithm number.
pub const ES256: i32 = -7;
/// EdDSA's COSE algorithm number.
pub const EDDSA: i32 = -8;
/// RS256's COSE algorithm number.
pub const RS256: i32 = -257;

/// The smallest RSA modulus accepted, in bits.
const MIN_RSA_BITS: usize = 2048;
/// The largest RSA modulus accepted, in bits.
const MAX_RSA_BITS: usize = 4096;

/// A credential's public key, ready to verify with.
#[derive(Debug, Clone)]
pub enum PublicKey {
    /// ES256.
    Es256(p256::ecdsa::VerifyingKey),
    /// EdDSA over Ed25519.
    EdDsa(ed25519_dalek::VerifyingKey),
    /// RS256.
    Rs256(rsa::pkcs1v15::VerifyingKey<Sha256>),
}

fn malformed(what: &str) -> WebauthnError {
    WebauthnError::Malformed(format!("public key: {what}"))
}

/// The parameter `label` of `key` as bytes.
fn bytes_param(key: &CoseKey, label: i64) -> Result<&[u8], WebauthnError> {
    key.params
        .iter()
        .find(|(l, _)| *l == Label::Int(label))
        .and_then(|(_, value)| value.as_bytes())
        .map(Vec::as_slice)
        .ok_or_else(|| malformed("a parameter is missing"))
}

/// The parameter `label` of `key` as an integer.
fn int_param(key: &CoseKey, label: i64) -> Option<i128> {
    key.params.iter().find(|(l, _)| *l == Label::Int(label)).and_then(|(_, value)| value.as_integer()).map(i128::from)
}

/// The COSE number of an algorithm label (0 for a text label).
fn algorithm_number(alg: &Option<Algorithm>) -> i32 {
    match alg {
        Some(RegisteredLabelWithPrivate::Assigned(alg)) => i32::try_from(alg.to_i64()).unwrap_or(0),
        Some(RegisteredLabelWithPrivate::PrivateUse(n)) => i32::try_from(*n).unwrap_or(0),
        _ => 0,
    }
}

impl PublicKey {
    /// Reads a COSE_Key and checks that its type, algorithm and curve are one accepted combination.
    pub fn from_cose(bytes: &[u8]) -> Result<Self, WebauthnError> {
        let key = CoseKey::from_slice(bytes).map_err(|_| malformed("not a COSE_Key"))?;
        let algorithm = algorithm_number(&key.alg);
        let curve = int_param(&key, iana::Ec2KeyParameter::Crv.to_i64());
        match (&key.kty, algorithm) {
            (KeyType::Assigned(iana::KeyType::EC2), ES256) => {
                if curve != Some(i128::from(iana::EllipticCurve::P_256.to_i64())) {
                    return Err(malformed("ES256 needs the curve P-256"));
                }
                let (x, y) = (bytes_param(&key, -2)?, bytes_param(&key, -3)?);
                if x.len() != 32 || y.len() != 32 {
                    return Err(malformed("P-256 coordinates are 32 bytes"));
                }
                let mut point = vec![0x04];
                point.extend_from_slice(x);
                point.extend_from_slice(y);
                p256::ecdsa::VerifyingKey::from_sec1_bytes(&point)
                    .map(Self::Es256)
                    .map_err(|_| malformed("not a point on P-256"))
            }
            (KeyType::Assigned(iana::KeyType::OKP), EDDSA) => {
                if curve != Some(i128::from(iana::EllipticCurve::Ed25519.to_i64())) {
                    return Err(malformed("EdDSA needs the curve Ed25519"));
                }
                let x: &[u8; 32] =
                    bytes_param(&key, -2)?.try_into().map_err(|_| malformed("Ed25519 keys are 32 bytes"))?;
                ed25519_dalek::VerifyingKey::from_bytes(x).map(Self::EdDsa).map_err(|_| malformed("not an Ed25519 key"))
            }
            (KeyType::Assigned(iana::KeyType::RSA), RS256) => {
                let (n, e) = (bytes_param(&key, -1)?, bytes_param(&key, -2)?);
                let significant: Vec<u8> = n.iter().copied().skip_while(|byte| *byte == 0).collect();
                let bits = significant
                    .first()
                    .map_or(0, |first| significant.len() * 8 - usize::try_from(first.leading_zeros()).unwrap_or(0));
                if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
                    return Err(WebauthnError::UnsupportedAlgorithm(RS256));
                }
                let key = rsa::PublicKey::new(BoxedUint::from_be_slice_vartime(n), BoxedUint::from_be_slice_vartime(e))
                    .map_err(|_| malformed("not an RSA key"))?;
                Ok(Self::Rs256(rsa::pkcs1v15::VerifyingKey::new(key)))
            }
            (KeyType::Assigned(_) | RegisteredLabel::Text(_), _) => Err(WebauthnError::UnsupportedAlgorithm(algorithm)),
        }
    }

    /// The COSE algorithm number.
    pub fn algorithm(&self) -> i32 {
        match self {
            Self::Es256(_) => ES256,
            Self::EdDsa(_) => EDDSA,
            Self::Rs256(_) => RS256,
        }
    }

    /// Verifies `signature` over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), WebauthnError> {
        match self {
            Self::Es256(key) => p256::ecdsa::DerSignature::try_from(signature)
                .map_err(|_| WebauthnError::BadSignature)
                .and_then(|signature| key.verify(message, &signature).map_err(|_| WebauthnError::BadSignature)),
            Self::EdDsa(key) => ed25519_dalek::Signature::from_slice(signature)
                .map_err(|_| WebauthnError::BadSignature)
                .and_then(|signature| key.verify_strict(message, &signature).map_err(|_| WebauthnError::BadSignature)),
            Self::Rs256(key) => rsa::pkcs1v15::Signature::try_from(signature)
                .map_err(|_| WebauthnError::BadSignature)
                .and_then(|signature| key.verify(message, &signature).map_err(|_| WebauthnError::BadSignature)),
        }
    }
}
