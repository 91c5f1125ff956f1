//! Secrets at rest (TOTP secrets): AES-256-GCM under a key ring from the secret variable `encryption_keys`.
//!
//! The variable lists keys as `id:base64` (32 bytes each), comma separated, newest first: the first key encrypts,
//! every key decrypts, so a key is rotated by putting a new one in front (rows encrypted under an older key are
//! re-encrypted under the first when next used). Each ciphertext is `nonce (12 random bytes) || ciphertext || tag`,
//! stored with its key id, and bound by the associated data to what it belongs to (user, factor, key id): a
//! ciphertext copied to another row or relabelled with another key id does not decrypt.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::TryRngCore;

const NONCE_BYTES: usize = 12;

/// Why the key ring or a ciphertext cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyRingError {
    /// `encryption_keys` is empty: secrets cannot be stored.
    #[error("the encryption_keys variable is empty: set at least one key (id:base64 of 32 random bytes)")]
    Missing,
    /// An entry of `encryption_keys` is not `id:base64-of-32-bytes`, or an id repeats.
    #[error("encryption_keys entry {0} is not id:base64 of 32 bytes with a unique id")]
    Malformed(usize),
    /// The ciphertext names a key the ring does not have.
    #[error("no key {0:?} in encryption_keys")]
    UnknownKey(String),
    /// The ciphertext does not decrypt under its key and context (tampered, moved or wrong key).
    #[error("a stored secret does not decrypt")]
    Decrypt,
    /// No randomness for a nonce.
    #[error("no randomness available")]
    Random,
}

/// The keys, newest first.
pub struct KeyRing {
    keys: Vec<(String, Key<Aes256Gcm>)>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("KeyRing").field("key_ids", &ids).finish_non_exhaustive()
    }
}

/// A sealed secret and the key that sealed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The key id.
    pub key_id: String,
    /// Nonce, ciphertext and tag.
    pub blob: Vec<u8>,
}

fn associated_data(key_id: &str, context: &[&str]) -> Vec<u8> {
    let mut aad = b"mfa secret v1".to_vec();
    for part in std::iter::once(key_id).chain(context.iter().copied()) {
        aad.push(0);
        aad.extend_from_slice(part.as_bytes());
    }
    aad
}

impl KeyRing {
    /// Parses `id:base64, id:base64, ...`.
    pub fn parse(text: &str) -> Result<Self, KeyRingError> {
        let mut keys: Vec<(String, Key<Aes256Gcm>)> = Vec::new();
        for (index, entry) in text.split(',').map(str::trim).filter(|e| !e.is_empty()).enumerate() {
            let malformed = || KeyRingError::Malformed(index + 1);
            let (id, encoded) = entry.split_once(':').ok_or_else(malformed)?;
            let id = id.trim();
            let bytes = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
            let bytes: [u8; 32] = bytes.try_into().map_err(|_| malformed())?;
            if id.is_empty() || keys.iter().any(|(known, _)| known == id) {
                return Err(malformed());
            }
            keys.push((id.to_owned(), Key::<Aes256Gcm>::from(bytes)));
        }
        if keys.is_empty() {
            return Err(KeyRingError::Missing);
        }
        Ok(Self { keys })
    }

    /// The id of the key that encrypts.
    pub fn current_id(&self) -> &str {
        self.keys.first().map_or("", |(id, _)| id.as_str())
    }

    /// Encrypts `secret` under the current key, bound to `context` (e.g. user id and factor id).
    pub fn seal(&self, context: &[&str], secret: &[u8]) -> Result<Sealed, KeyRingError> {
        let (key_id, key) = self.keys.first().ok_or(KeyRingError::Missing)?;
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rngs::OsRng.try_fill_bytes(&mut nonce).map_err(|_| KeyRingError::Random)?;
        let aad = associated_data(key_id, context);
        let ciphertext = Aes256Gcm::new(key)
            .encrypt(&Nonce::from(nonce), Payload { msg: secret, aad: &aad })
            .map_err(|_| KeyRingError::Decrypt)?;
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&ciphertext);
        Ok(Sealed { key_id: key_id.clone(), blob })
    }

    /// Decrypts `sealed`, which must have been sealed for `context`.
    pub fn open(&self, sealed: &Sealed, context: &[&str]) -> Result<Vec<u8>, KeyRingError> {
        let key = self
            .keys
            .iter()
            .find(|(id, _)| *id == sealed.key_id)
            .map(|(_, key)| key)
            .ok_or_else(|| KeyRingError::UnknownKey(sealed.key_id.clone()))?;
        let (nonce, ciphertext) = sealed.blob.split_at_checked(NONCE_BYTES).ok_or(KeyRingError::Decrypt)?;
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| KeyRingError::Decrypt)?;
        let aad = associated_data(&sealed.key_id, context);
        Aes256Gcm::new(key)
            .decrypt(&Nonce::from(nonce), Payload { msg: ciphertext, aad: &aad })
            .map_err(|_| KeyRingError::Decrypt)
    }

    /// Every key id, newest (the current one) first.
    pub fn ids(&self) -> Vec<&str> {
        self.keys.iter().map(|(id, _)| id.as_str()).collect()
    }

    /// Whether `sealed` should be re-sealed under the current key.
    pub fn is_stale(&self, sealed: &Sealed) -> bool {
        sealed.key_id != self.current_id()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> String {
        STANDARD.encode([byte; 32])
    }

    #[test]
    fn the_first_key_seals_and_every_key_opens() {
        let old = KeyRing::parse(&format!("k1:{}", key(1))).unwrap();
        let sealed = old.seal(&["user", "factor"], b"JBSWY3DPEHPK3PXP").unwrap();
        assert_eq!(sealed.key_id, "k1");
        assert_eq!(sealed.blob.len(), 12 + 16 + 16);
        assert!(!sealed.blob.windows(4).any(|w| w == b"JBSW"), "the secret is not in the clear");
        let rotated = KeyRing::parse(&format!("k2:{}, k1:{}", key(2), key(1))).unwrap();
        assert_eq!(rotated.open(&sealed, &["user", "factor"]).unwrap(), b"JBSWY3DPEHPK3PXP");
        assert!(rotated.is_stale(&sealed));
        let resealed = rotated.seal(&["user", "factor"], b"JBSWY3DPEHPK3PXP").unwrap();
        assert_eq!(resealed.key_id, "k2");
        assert!(!rotated.is_stale(&resealed));
        assert_ne!(rotated.seal(&["user", "factor"], b"x").unwrap(), rotated.seal(&["user", "factor"], b"x").unwrap());
    }

    #[test]
    fn a_ciphertext_is_bound_to_its_context_and_key_id() {
        let ring = KeyRing::parse(&format!("a:{}, b:{}", key(1), key(1))).unwrap();
        let sealed = ring.seal(&["user-1", "factor-1"], b"secret").unwrap();
        assert_eq!(ring.open(&sealed, &["user-2", "factor-1"]), Err(KeyRingError::Decrypt));
        assert_eq!(ring.open(&sealed, &["user-1", "factor-2"]), Err(KeyRingError::Decrypt));
        // Same key bytes under another id: the key id is part of the associated data.
        let relabelled = Sealed { key_id: "b".to_owned(), blob: sealed.blob.clone() };
        assert_eq!(ring.open(&relabelled, &["user-1", "factor-1"]), Err(KeyRingError::Decrypt));
        let mut tampered = sealed.clone();
        if let Some(byte) = tampered.blob.last_mut() {
            *byte ^= 1;
        }
        assert_eq!(ring.open(&tampered, &["user-1", "factor-1"]), Err(KeyRingError::Decrypt));
        let unknown = Sealed { key_id: "zz".to_owned(), blob: sealed.blob };
        assert_eq!(ring.open(&unknown, &["user-1", "factor-1"]), Err(KeyRingError::UnknownKey("zz".to_owned())));
    }

    #[test]
    fn malformed_rings_are_refused_without_echoing_keys() {
        assert_eq!(KeyRing::parse("").unwrap_err(), KeyRingError::Missing);
        assert_eq!(KeyRing::parse("nokey").unwrap_err(), KeyRingError::Malformed(1));
        assert_eq!(KeyRing::parse(&format!("a:{}, a:{}", key(1), key(2))).unwrap_err(), KeyRingError::Malformed(2));
        assert_eq!(KeyRing::parse("a:c2hvcnQ=").unwrap_err(), KeyRingError::Malformed(1));
        let ring = KeyRing::parse(&format!("a:{}", key(7))).unwrap();
        assert!(!format!("{ring:?}").contains(&key(7)));
    }
}
