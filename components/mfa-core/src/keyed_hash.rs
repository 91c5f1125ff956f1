//! Keyed hashing for stored codes: HMAC-SHA-256 under a server-side pepper.
//!
//! Every input is framed (a domain label, then each part with its length), so no two different inputs hash the
//! same and a hash made for one kind of code never verifies another.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::{Choice, ConstantTimeEq};

/// The shortest pepper accepted, in bytes.
pub const MIN_PEPPER_BYTES: usize = 16;
/// The length of a hash, in bytes.
pub const HASH_BYTES: usize = 32;

/// The pepper is shorter than [`MIN_PEPPER_BYTES`]; carries its length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the pepper has {0} bytes; at least 16 are required")]
pub struct PepperTooShort(pub u32);

/// A keyed HMAC-SHA-256 ready to hash; it keeps no copy of the pepper itself.
#[derive(Clone)]
pub struct Pepper(Hmac<Sha256>);

impl Pepper {
    /// Keys the hash with `pepper`.
    pub fn new(pepper: &[u8]) -> Result<Self, PepperTooShort> {
        let length = PepperTooShort(u32::try_from(pepper.len()).unwrap_or(u32::MAX));
        if pepper.len() < MIN_PEPPER_BYTES {
            return Err(length);
        }
        // HMAC takes keys of any length, so this only fails if that ever stops being true.
        Hmac::<Sha256>::new_from_slice(pepper).map(Self).map_err(|_| length)
    }

    /// HMAC-SHA-256 over `domain` and `parts`, each preceded by its length as 8 big-endian bytes.
    pub fn hash(&self, domain: &str, parts: &[&[u8]]) -> [u8; HASH_BYTES] {
        let mut mac = self.0.clone();
        for part in std::iter::once(domain.as_bytes()).chain(parts.iter().copied()) {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }
}

/// Whether two byte strings are equal, in time that depends only on their lengths.
pub fn equal(a: &[u8], b: &[u8]) -> Choice {
    a.ct_eq(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_peppers_are_refused() {
        assert_eq!(Pepper::new(&[0; 15]).err(), Some(PepperTooShort(15)));
        assert!(Pepper::new(&[0; 16]).is_ok());
    }

    #[test]
    fn framing_separates_inputs_and_domains() {
        let pepper = Pepper::new(b"0123456789abcdef").unwrap();
        let ab_c = pepper.hash("d", &[b"ab", b"c"]);
        assert_ne!(ab_c, pepper.hash("d", &[b"a", b"bc"]));
        assert_ne!(ab_c, pepper.hash("e", &[b"ab", b"c"]));
        assert_eq!(ab_c, pepper.hash("d", &[b"ab", b"c"]));
        let other = Pepper::new(b"0123456789abcdeF").unwrap();
        assert_ne!(ab_c, other.hash("d", &[b"ab", b"c"]));
    }

    #[test]
    fn matches_hmac_sha256_of_the_framed_message() {
        // RFC 4231 test case 2 shape, checked against the framing: HMAC("Jefe"-padded key, frame).
        let pepper = Pepper::new(b"Jefe-Jefe-Jefe-J").unwrap();
        let mut framed = Vec::new();
        for part in [&b"d"[..], b"what do ya want for nothing?"] {
            framed.extend_from_slice(&(part.len() as u64).to_be_bytes());
            framed.extend_from_slice(part);
        }
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe-Jefe-Jefe-J").unwrap();
        mac.update(&framed);
        let expected: [u8; 32] = mac.finalize().into_bytes().into();
        assert_eq!(pepper.hash("d", &[b"what do ya want for nothing?"]), expected);
    }

    #[test]
    fn rfc4231_test_case_2_through_the_crates() {
        // Guards the crate wiring itself: HMAC-SHA-256("Jefe", "what do ya want for nothing?").
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        let digest: [u8; 32] = mac.finalize().into_bytes().into();
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }
}
