//! A software authenticator for the tests (the unit tests here, and the end-to-end suite with the feature
//! `soft-authenticator`; never in the component): it makes registration and assertion responses exactly as a
//! WebAuthn client and authenticator would (client data JSON, authenticator data, COSE keys, `none` or `packed`
//! attestation), with fixed keys for each algorithm and switches to get every part wrong on purpose.

use ciborium::Value;
use coset::iana::{self, EnumI64};
use coset::{CborSerializable, CoseKey, CoseKeyBuilder, KeyType, Label};
use rsa::BoxedUint;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use sha2::{Digest, Sha256};

/// The test RSA key's primes (2048-bit modulus), made once with `openssl genrsa 2048`.
const RSA_P: &str = concat!(
    "ebcf27f5e6a2e2074151c69937dd3718a701f94431c940e435d1123bcb76fb55124cc5f94e0bdc2c0a6d5ac86f7c87e2",
    "31d939fa57bf6a9bcd06c3bd776c8c0880aec00a65da63b2e18aa6c2a0bfad63485bd3c7c54623263ec774acc80042a0",
    "d970e808fec2948a308cd340aeb147afc08118cc87fb3a81af7ead9d9728b439",
);
const RSA_Q: &str = concat!(
    "d80703fa64feb0dcb440377ce34ebd0ac114a98d28b72cd852e4c76c092ad5160b7c9894975696515d17f41217ad3dea",
    "d6320beb8a4e64836f87d86001ffd050bc460af7dba718e338578f11ee04e80f8840f627c35447b3e4cdf4f764756621",
    "aa833cabc34487b9b616d0522c3a2c332ae5718f301dd323f78521a3327d2857",
);

/// The algorithm of a test authenticator's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Es256,
    EdDsa,
    Rs256,
}

impl Algorithm {
    /// Its COSE number.
    pub fn cose(self) -> i32 {
        match self {
            Self::Es256 => -7,
            Self::EdDsa => -8,
            Self::Rs256 => -257,
        }
    }
}

/// One ceremony as the test wants it, right by default (user verified, no backup).
#[derive(Debug, Clone)]
pub struct Ceremony {
    pub rp_id: String,
    pub origin: String,
    pub challenge: String,
    /// The client data type (default: the ceremony's own).
    pub ceremony_type: Option<&'static str>,
    pub user_present: bool,
    pub user_verified: bool,
    pub backup_eligible: bool,
    pub cross_origin: bool,
    /// The counter (default: 1 at registration, one more at each assertion).
    pub sign_count: Option<u32>,
    /// `packed` self attestation instead of `none`.
    pub packed: bool,
    /// A certificate in the `packed` statement.
    pub certificate: bool,
    /// Flip a bit of the signature.
    pub corrupt_signature: bool,
}

impl Ceremony {
    pub fn new(rp_id: &str, origin: &str, challenge: &str) -> Self {
        Self {
            rp_id: rp_id.into(),
            origin: origin.into(),
            challenge: challenge.into(),
            ceremony_type: None,
            user_present: true,
            user_verified: true,
            backup_eligible: false,
            cross_origin: false,
            sign_count: None,
            packed: false,
            certificate: false,
            corrupt_signature: false,
        }
    }

    fn client_data(&self, default_type: &str) -> Vec<u8> {
        serde_json::json!({
            "type": self.ceremony_type.unwrap_or(default_type),
            "challenge": self.challenge,
            "origin": self.origin,
            "crossOrigin": self.cross_origin,
        })
        .to_string()
        .into_bytes()
    }

    fn authenticator_data(&self, count: u32, attested: Option<&[u8]>) -> Vec<u8> {
        let mut data = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        let flags = u8::from(self.user_present)
            | u8::from(self.user_verified) << 2
            | u8::from(self.backup_eligible) << 3
            | u8::from(attested.is_some()) << 6;
        data.push(flags);
        data.extend_from_slice(&self.sign_count.unwrap_or(count).to_be_bytes());
        if let Some(attested) = attested {
            data.extend_from_slice(attested);
        }
        data
    }
}

/// A registration response's two parts.
pub struct Made {
    pub client_data_json: Vec<u8>,
    pub attestation_object: Vec<u8>,
}

/// An assertion response's three parts.
pub struct Signed {
    pub client_data_json: Vec<u8>,
    pub authenticator_data: Vec<u8>,
    pub signature: Vec<u8>,
}

/// A test authenticator holding one credential.
pub struct Authenticator {
    algorithm: Algorithm,
    credential_id: Vec<u8>,
    counter: std::cell::Cell<u32>,
}

/// The COSE key of the test RSA key.
fn rsa_key() -> rsa::PrivateKey {
    let prime = |hex: &str| BoxedUint::from_be_slice_vartime(&decode_hex(hex));
    rsa::PrivateKey::from_p_q(prime(RSA_P), prime(RSA_Q), BoxedUint::from(65537u32)).expect("test RSA key")
}

fn decode_hex(hex: &str) -> Vec<u8> {
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex")).collect()
}

fn rsa_cose(n: Vec<u8>, e: Vec<u8>) -> Vec<u8> {
    CoseKey {
        kty: KeyType::Assigned(iana::KeyType::RSA),
        alg: Some(coset::Algorithm::Assigned(iana::Algorithm::RS256)),
        params: vec![(Label::Int(-1), Value::Bytes(n)), (Label::Int(-2), Value::Bytes(e))],
        ..CoseKey::default()
    }
    .to_vec()
    .expect("COSE key")
}

/// An EC2 P-256 key labelled with COSE algorithm `algorithm`.
pub fn cose_key_with_algorithm(algorithm: i64) -> Vec<u8> {
    let mut key = CoseKey::from_slice(&Authenticator::new(Algorithm::Es256).public_key()).expect("COSE key");
    key.alg = Some(coset::Algorithm::PrivateUse(algorithm));
    key.to_vec().expect("COSE key")
}

/// An RS256 key of 1024 bits.
pub fn small_rsa_key() -> Vec<u8> {
    let mut n = vec![0xc5; 128];
    n[127] = 0x01;
    rsa_cose(n, vec![1, 0, 1])
}

impl Authenticator {
    pub fn new(algorithm: Algorithm) -> Self {
        Self::with_credential_id(algorithm, vec![0x42; 32])
    }

    /// An authenticator whose credential has id `credential_id` (16 to 1023 bytes).
    pub fn with_credential_id(algorithm: Algorithm, credential_id: Vec<u8>) -> Self {
        Self { algorithm, credential_id, counter: std::cell::Cell::new(0) }
    }

    /// The credential id.
    pub fn credential_id(&self) -> Vec<u8> {
        self.credential_id.clone()
    }

    /// The credential's COSE public key.
    pub fn public_key(&self) -> Vec<u8> {
        match self.algorithm {
            Algorithm::Es256 => {
                let point = self.p256().verifying_key().to_sec1_point(false);
                let (x, y) = (point.x().expect("x").to_vec(), point.y().expect("y").to_vec());
                CoseKeyBuilder::new_ec2_pub_key(iana::EllipticCurve::P_256, x, y)
                    .algorithm(iana::Algorithm::ES256)
                    .build()
                    .to_vec()
                    .expect("COSE key")
            }
            Algorithm::EdDsa => CoseKeyBuilder::new_okp_key()
                .param(iana::OkpKeyParameter::Crv.to_i64(), Value::from(iana::EllipticCurve::Ed25519.to_i64()))
                .param(
                    iana::OkpKeyParameter::X.to_i64(),
                    Value::Bytes(self.ed25519().verifying_key().to_bytes().to_vec()),
                )
                .algorithm(iana::Algorithm::EdDSA)
                .build()
                .to_vec()
                .expect("COSE key"),
            Algorithm::Rs256 => {
                let key = rsa_key();
                rsa_cose(key.n_bytes().to_vec(), key.e_bytes().to_vec())
            }
        }
    }

    fn p256(&self) -> p256::ecdsa::SigningKey {
        p256::ecdsa::SigningKey::from_slice(&[0x11; 32]).expect("P-256 key")
    }

    fn ed25519(&self) -> ed25519_dalek::SigningKey {
        ed25519_dalek::SigningKey::from_bytes(&[0x22; 32])
    }

    fn sign(&self, message: &[u8], corrupt: bool) -> Vec<u8> {
        let mut signature = match self.algorithm {
            Algorithm::Es256 => {
                let signature: p256::ecdsa::Signature = self.p256().sign(message);
                signature.to_der().to_bytes().to_vec()
            }
            Algorithm::EdDsa => self.ed25519().sign(message).to_bytes().to_vec(),
            Algorithm::Rs256 => rsa::pkcs1v15::SigningKey::<Sha256>::new(rsa_key()).sign(message).to_vec(),
        };
        if corrupt {
            let last = signature.len() - 1;
            signature[last] ^= 1;
        }
        signature
    }

    /// A registration response for `ceremony`.
    pub fn register(&self, ceremony: &Ceremony) -> Made {
        let client_data_json = ceremony.client_data("webauthn.create");
        let mut attested = vec![7; 16];
        let id = self.credential_id();
        attested.extend_from_slice(&u16::try_from(id.len()).expect("id length").to_be_bytes());
        attested.extend_from_slice(&id);
        attested.extend_from_slice(&self.public_key());
        self.counter.set(1);
        let auth_data = ceremony.authenticator_data(1, Some(&attested));
        let statement = if ceremony.packed {
            let mut message = auth_data.clone();
            message.extend_from_slice(&Sha256::digest(&client_data_json));
            let mut fields = vec![
                (Value::from("alg"), Value::from(self.algorithm.cose())),
                (Value::from("sig"), Value::Bytes(self.sign(&message, ceremony.corrupt_signature))),
            ];
            if ceremony.certificate {
                fields.push((Value::from("x5c"), Value::Array(vec![Value::Bytes(vec![0x30, 0x00])])));
            }
            Value::Map(fields)
        } else {
            Value::Map(Vec::new())
        };
        let object = Value::Map(vec![
            (Value::from("fmt"), Value::from(if ceremony.packed { "packed" } else { "none" })),
            (Value::from("attStmt"), statement),
            (Value::from("authData"), Value::Bytes(auth_data)),
        ]);
        let mut attestation_object = Vec::new();
        ciborium::ser::into_writer(&object, &mut attestation_object).expect("CBOR");
        Made { client_data_json, attestation_object }
    }

    /// An assertion response for `ceremony`.
    pub fn assert(&self, ceremony: &Ceremony) -> Signed {
        let client_data_json = ceremony.client_data("webauthn.get");
        self.counter.set(self.counter.get() + 1);
        let authenticator_data = ceremony.authenticator_data(self.counter.get(), None);
        let mut message = authenticator_data.clone();
        message.extend_from_slice(&Sha256::digest(&client_data_json));
        let signature = self.sign(&message, ceremony.corrupt_signature);
        Signed { client_data_json, authenticator_data, signature }
    }
}
