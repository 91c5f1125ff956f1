//! WebAuthn relying-party verification (interface `mfa:core/webauthn`): registration (§7.1) and authentication
//! (§7.2) ceremonies checked from the bytes the client sent, with the challenge, the stored credential and the
//! relying party's settings passed in. No clock and no randomness: the caller issues, stores and times out
//! challenges and decides what a counter regression means.
//!
//! The parts: [`client_data`] (type, challenge, origin), [`authenticator_data`] (RP ID hash, flags, counter,
//! attested credential), [`cose_key`] (keys and signatures: ES256, EdDSA, RS256) and [`attestation`] (`none`,
//! `packed` self attestation).

pub mod attestation;
pub mod authenticator_data;
pub mod client_data;
pub mod cose_key;

#[cfg(any(test, feature = "soft-authenticator"))]
#[allow(missing_docs, clippy::expect_used, clippy::indexing_slicing, clippy::unwrap_used)]
pub mod soft_authenticator;

use sha2::{Digest, Sha256};

use self::attestation::AttestationObject;
use self::authenticator_data::AuthenticatorData;
use self::client_data::{CREATE, ClientData, GET};
use self::cose_key::PublicKey;

/// What the relying party expects of every ceremony.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingParty {
    /// The RP ID.
    pub id: String,
    /// The allowed origins (exact, or `scheme://host:*` for any port).
    pub origins: Vec<String>,
    /// Whether the UV flag is required.
    pub require_user_verification: bool,
}

/// A stored credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCredential {
    /// Its id.
    pub id: Vec<u8>,
    /// Its COSE public key.
    pub public_key: Vec<u8>,
    /// The last counter seen.
    pub sign_count: u32,
}

/// A verified registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// The credential id.
    pub credential_id: Vec<u8>,
    /// The COSE public key.
    pub public_key: Vec<u8>,
    /// Its COSE algorithm.
    pub algorithm: i32,
    /// The starting counter.
    pub sign_count: u32,
    /// The authenticator model.
    pub aaguid: [u8; 16],
    /// UV.
    pub user_verified: bool,
    /// BE.
    pub backup_eligible: bool,
    /// BS.
    pub backup_state: bool,
    /// `none` or `packed`.
    pub attestation_format: String,
}

/// How an assertion's counter compares with the stored one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterCheck {
    /// Higher, or both 0 (no counter kept).
    Advanced,
    /// Not higher although a counter is kept.
    Regressed,
}

/// A verified assertion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assertion {
    /// The counter now.
    pub sign_count: u32,
    /// Against the stored one.
    pub counter: CounterCheck,
    /// UV.
    pub user_verified: bool,
    /// BE now (the caller compares it with what it stored).
    pub backup_eligible: bool,
    /// BS.
    pub backup_state: bool,
}

/// Why a ceremony is refused (the WIT `webauthn-error`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebauthnError {
    /// An input is not what WebAuthn defines.
    #[error("malformed {0}")]
    Malformed(String),
    /// The client data's type is not the ceremony's.
    #[error("the client data is of another ceremony")]
    WrongCeremony,
    /// The challenge is not the one issued.
    #[error("the challenge is not the one issued")]
    ChallengeMismatch,
    /// The origin is not allowed.
    #[error("origin {0} is not allowed")]
    OriginNotAllowed(String),
    /// A cross-origin iframe ran the ceremony.
    #[error("the ceremony ran in a cross-origin frame")]
    CrossOrigin,
    /// The RP ID hash is not the relying party's.
    #[error("the credential is scoped to another RP ID")]
    RpIdMismatch,
    /// UP is not set.
    #[error("the user was not present")]
    UserNotPresent,
    /// UV is required and not set.
    #[error("the user was not verified")]
    UserNotVerified,
    /// BS without BE.
    #[error("the backup flags are inconsistent")]
    BackupFlagsInvalid,
    /// An algorithm not accepted.
    #[error("COSE algorithm {0} is not accepted")]
    UnsupportedAlgorithm(i32),
    /// An attestation format not accepted.
    #[error("attestation {0} is not accepted")]
    UnsupportedAttestation(String),
    /// The signature does not verify.
    #[error("the signature does not verify")]
    BadSignature,
}

/// Reads the client data JSON.
pub fn read_client_data(json: &[u8]) -> Result<ClientData, WebauthnError> {
    ClientData::read(json)
}

/// `authenticator data ‖ SHA-256(client data JSON)`: what attestation and assertion signatures cover.
fn signed_message(authenticator_data: &[u8], client_data_json: &[u8]) -> Vec<u8> {
    let mut message = authenticator_data.to_vec();
    message.extend_from_slice(&Sha256::digest(client_data_json));
    message
}

/// Verifies a registration ceremony against `challenge`.
pub fn verify_registration(
    rp: &RelyingParty,
    challenge: &str,
    client_data_json: &[u8],
    attestation_object: &[u8],
) -> Result<Registration, WebauthnError> {
    ClientData::read(client_data_json)?.check(CREATE, challenge, &rp.origins)?;
    let object = AttestationObject::read(attestation_object)?;
    let data = AuthenticatorData::parse(&object.authenticator_data)?;
    data.check(&rp.id, rp.require_user_verification)?;
    let attested =
        data.attested.as_ref().ok_or_else(|| WebauthnError::Malformed("no attested credential data".into()))?;
    let key = PublicKey::from_cose(attested.public_key)?;
    object.verify(&key, &Sha256::digest(client_data_json))?;
    Ok(Registration {
        credential_id: attested.id.to_vec(),
        public_key: attested.public_key.to_vec(),
        algorithm: key.algorithm(),
        sign_count: data.sign_count,
        aaguid: attested.aaguid,
        user_verified: data.user_verified(),
        backup_eligible: data.backup_eligible(),
        backup_state: data.backup_state(),
        attestation_format: object.format.clone(),
    })
}

/// Verifies an assertion by `credential` against `challenge`.
pub fn verify_assertion(
    rp: &RelyingParty,
    challenge: &str,
    credential: &StoredCredential,
    client_data_json: &[u8],
    authenticator_data: &[u8],
    signature: &[u8],
) -> Result<Assertion, WebauthnError> {
    ClientData::read(client_data_json)?.check(GET, challenge, &rp.origins)?;
    let data = AuthenticatorData::parse(authenticator_data)?;
    if data.attested.is_some() {
        return Err(WebauthnError::Malformed("attested credential data in an assertion".into()));
    }
    data.check(&rp.id, rp.require_user_verification)?;
    let key = PublicKey::from_cose(&credential.public_key)?;
    key.verify(&signed_message(authenticator_data, client_data_json), signature)?;
    let counter = if data.sign_count > credential.sign_count || (data.sign_count == 0 && credential.sign_count == 0) {
        CounterCheck::Advanced
    } else {
        CounterCheck::Regressed
    };
    Ok(Assertion {
        sign_count: data.sign_count,
        counter,
        user_verified: data.user_verified(),
        backup_eligible: data.backup_eligible(),
        backup_state: data.backup_state(),
    })
}

#[cfg(test)]
mod tests {
    use super::soft_authenticator::{Algorithm, Authenticator, Ceremony};
    use super::*;

    const CHALLENGE: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

    fn rp() -> RelyingParty {
        RelyingParty {
            id: "example.com".into(),
            origins: vec!["https://example.com".into()],
            require_user_verification: false,
        }
    }

    fn registered(authenticator: &Authenticator) -> (Registration, StoredCredential) {
        let made = authenticator.register(&Ceremony::new("example.com", "https://example.com", CHALLENGE));
        let registration = verify_registration(&rp(), CHALLENGE, &made.client_data_json, &made.attestation_object)
            .expect("registration");
        let stored = StoredCredential {
            id: registration.credential_id.clone(),
            public_key: registration.public_key.clone(),
            sign_count: registration.sign_count,
        };
        (registration, stored)
    }

    fn assert_with(
        authenticator: &Authenticator,
        stored: &StoredCredential,
        ceremony: &Ceremony,
    ) -> Result<Assertion, WebauthnError> {
        let signed = authenticator.assert(ceremony);
        verify_assertion(
            &rp(),
            CHALLENGE,
            stored,
            &signed.client_data_json,
            &signed.authenticator_data,
            &signed.signature,
        )
    }

    fn good() -> Ceremony {
        Ceremony::new("example.com", "https://example.com", CHALLENGE)
    }

    #[test]
    fn every_algorithm_registers_and_signs_in() {
        for algorithm in [Algorithm::Es256, Algorithm::EdDsa, Algorithm::Rs256] {
            let authenticator = Authenticator::new(algorithm);
            let (registration, stored) = registered(&authenticator);
            assert_eq!(registration.algorithm, algorithm.cose());
            assert_eq!(registration.attestation_format, "none");
            assert_eq!(registration.aaguid, [7; 16]);
            let assertion = assert_with(&authenticator, &stored, &good()).expect("assertion");
            assert_eq!(assertion.counter, CounterCheck::Advanced);
            assert_eq!(assertion.sign_count, 2);
        }
    }

    #[test]
    fn packed_self_attestation_is_verified_and_a_certificate_refused() {
        let authenticator = Authenticator::new(Algorithm::Es256);
        let mut ceremony = good();
        ceremony.packed = true;
        let made = authenticator.register(&ceremony);
        let registration =
            verify_registration(&rp(), CHALLENGE, &made.client_data_json, &made.attestation_object).unwrap();
        assert_eq!(registration.attestation_format, "packed");
        ceremony.corrupt_signature = true;
        let forged = authenticator.register(&ceremony);
        let refused = verify_registration(&rp(), CHALLENGE, &forged.client_data_json, &forged.attestation_object);
        assert_eq!(refused, Err(WebauthnError::BadSignature));
        ceremony.corrupt_signature = false;
        ceremony.certificate = true;
        let certified = authenticator.register(&ceremony);
        let refused = verify_registration(&rp(), CHALLENGE, &certified.client_data_json, &certified.attestation_object);
        assert!(matches!(refused, Err(WebauthnError::UnsupportedAttestation(_))));
    }

    #[test]
    fn a_registration_is_refused_for_each_wrong_part() {
        let authenticator = Authenticator::new(Algorithm::Es256);
        let check = |ceremony: Ceremony| {
            let made = authenticator.register(&ceremony);
            verify_registration(&rp(), CHALLENGE, &made.client_data_json, &made.attestation_object).map(|_| ())
        };
        let wrong_origin = Ceremony::new("example.com", "https://evil.example", CHALLENGE);
        assert_eq!(check(wrong_origin), Err(WebauthnError::OriginNotAllowed("https://evil.example".into())));
        assert_eq!(
            check(Ceremony::new("evil.example", "https://example.com", CHALLENGE)),
            Err(WebauthnError::RpIdMismatch)
        );
        assert_eq!(
            check(Ceremony::new("example.com", "https://example.com", "b3RoZXI")),
            Err(WebauthnError::ChallengeMismatch)
        );
        assert_eq!(
            check(Ceremony { ceremony_type: Some("webauthn.get"), ..good() }),
            Err(WebauthnError::WrongCeremony)
        );
        assert_eq!(check(Ceremony { user_present: false, ..good() }), Err(WebauthnError::UserNotPresent));
        assert_eq!(check(Ceremony { cross_origin: true, ..good() }), Err(WebauthnError::CrossOrigin));
        let strict = RelyingParty { require_user_verification: true, ..rp() };
        let unverified = authenticator.register(&Ceremony { user_verified: false, ..good() });
        let refused =
            verify_registration(&strict, CHALLENGE, &unverified.client_data_json, &unverified.attestation_object);
        assert_eq!(refused, Err(WebauthnError::UserNotVerified));
        let garbage = verify_registration(&rp(), CHALLENGE, &good_client_data(), b"\x01\x02");
        assert!(matches!(garbage, Err(WebauthnError::Malformed(_))));
    }

    fn good_client_data() -> Vec<u8> {
        Authenticator::new(Algorithm::Es256).register(&good()).client_data_json
    }

    #[test]
    fn an_assertion_is_refused_for_each_wrong_part() {
        let authenticator = Authenticator::new(Algorithm::Es256);
        let (_, stored) = registered(&authenticator);
        let check = |ceremony: Ceremony| assert_with(&authenticator, &stored, &ceremony).map(|_| ());
        assert_eq!(check(good()), Ok(()));
        assert_eq!(
            check(Ceremony::new("example.com", "https://evil.example", CHALLENGE)),
            Err(WebauthnError::OriginNotAllowed("https://evil.example".into()))
        );
        assert_eq!(
            check(Ceremony::new("evil.example", "https://example.com", CHALLENGE)),
            Err(WebauthnError::RpIdMismatch)
        );
        assert_eq!(
            check(Ceremony::new("example.com", "https://example.com", "b3RoZXI")),
            Err(WebauthnError::ChallengeMismatch)
        );
        assert_eq!(
            check(Ceremony { ceremony_type: Some("webauthn.create"), ..good() }),
            Err(WebauthnError::WrongCeremony)
        );
        assert_eq!(check(Ceremony { corrupt_signature: true, ..good() }), Err(WebauthnError::BadSignature));
        // Eligibility that changed since registration is reported, not refused (providers that sync later do it).
        let synced = assert_with(&authenticator, &stored, &Ceremony { backup_eligible: true, ..good() }).unwrap();
        assert!(synced.backup_eligible);
        // Another credential's key does not verify this one's signature.
        let (_, other) = registered(&Authenticator::new(Algorithm::EdDsa));
        let signed = authenticator.assert(&good());
        let refused = verify_assertion(
            &rp(),
            CHALLENGE,
            &other,
            &signed.client_data_json,
            &signed.authenticator_data,
            &signed.signature,
        );
        assert!(refused.is_err());
        let strict = RelyingParty { require_user_verification: true, ..rp() };
        let unverified = authenticator.assert(&Ceremony { user_verified: false, ..good() });
        let refused = verify_assertion(
            &strict,
            CHALLENGE,
            &stored,
            &unverified.client_data_json,
            &unverified.authenticator_data,
            &unverified.signature,
        );
        assert_eq!(refused, Err(WebauthnError::UserNotVerified));
    }

    #[test]
    fn a_counter_that_does_not_advance_is_reported() {
        let authenticator = Authenticator::new(Algorithm::Es256);
        let (_, mut stored) = registered(&authenticator);
        stored.sign_count = 10;
        let assertion = assert_with(&authenticator, &stored, &good()).unwrap();
        assert_eq!((assertion.counter, assertion.sign_count), (CounterCheck::Regressed, 2));
        // An authenticator that keeps no counter (0 both sides) is not a regression.
        stored.sign_count = 0;
        let counterless = assert_with(&authenticator, &stored, &Ceremony { sign_count: Some(0), ..good() }).unwrap();
        assert_eq!(counterless.counter, CounterCheck::Advanced);
        stored.sign_count = 5;
        let zero = assert_with(&authenticator, &stored, &Ceremony { sign_count: Some(0), ..good() }).unwrap();
        assert_eq!(zero.counter, CounterCheck::Regressed);
    }

    #[test]
    fn unaccepted_keys_are_refused() {
        let authenticator = Authenticator::new(Algorithm::Es256);
        let (_, mut stored) = registered(&authenticator);
        stored.public_key = soft_authenticator::cose_key_with_algorithm(-35);
        assert_eq!(assert_with(&authenticator, &stored, &good()), Err(WebauthnError::UnsupportedAlgorithm(-35)));
        stored.public_key = soft_authenticator::small_rsa_key();
        assert_eq!(assert_with(&authenticator, &stored, &good()), Err(WebauthnError::UnsupportedAlgorithm(-257)));
    }
}
