//! Authenticator data (WebAuthn §6.1): the RP ID hash, the flags, the signature counter and, at registration, the
//! attested credential (AAGUID, credential id, COSE public key), with extensions possibly after it.
//!
//! Layout: `rpIdHash` (32) ‖ flags (1) ‖ `signCount` (4, big-endian) ‖ [AAGUID (16) ‖ id length (2, big-endian) ‖
//! id ‖ COSE_Key (one CBOR item)] ‖ [extensions (one CBOR map)].

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::WebauthnError;

/// User present.
const UP: u8 = 0x01;
/// User verified.
const UV: u8 = 0x04;
/// Backup eligible.
const BE: u8 = 0x08;
/// Backed up.
const BS: u8 = 0x10;
/// Attested credential data included.
const AT: u8 = 0x40;
/// Extension data included.
const ED: u8 = 0x80;

/// The longest credential id WebAuthn allows.
const MAX_CREDENTIAL_ID: usize = 1023;

/// The shortest credential id accepted: 16 bytes, the least entropy an authenticator may put in one.
const MIN_CREDENTIAL_ID: usize = 16;

/// The attested credential of a registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestedCredential<'a> {
    /// The authenticator model.
    pub aaguid: [u8; 16],
    /// The credential id.
    pub id: &'a [u8],
    /// The COSE_Key bytes, exactly one CBOR item.
    pub public_key: &'a [u8],
}

/// Parsed authenticator data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatorData<'a> {
    /// SHA-256 of the RP ID the authenticator scoped the credential to.
    pub rp_id_hash: &'a [u8],
    /// The flags byte.
    pub flags: u8,
    /// The signature counter.
    pub sign_count: u32,
    /// The attested credential, when the AT flag is set.
    pub attested: Option<AttestedCredential<'a>>,
}

fn malformed(what: &str) -> WebauthnError {
    WebauthnError::Malformed(format!("authenticator data: {what}"))
}

/// Takes the next `length` bytes off `rest`.
fn take<'a>(rest: &mut &'a [u8], length: usize, what: &str) -> Result<&'a [u8], WebauthnError> {
    let (taken, left) = rest.split_at_checked(length).ok_or_else(|| malformed(what))?;
    *rest = left;
    Ok(taken)
}

/// Takes the one CBOR item at the start of `rest`.
fn take_cbor_item<'a>(rest: &mut &'a [u8]) -> Result<&'a [u8], WebauthnError> {
    let mut reader = *rest;
    let _: ciborium::Value = ciborium::de::from_reader(&mut reader).map_err(|_| malformed("CBOR"))?;
    take(rest, rest.len() - reader.len(), "CBOR")
}

/// `bytes` as a big-endian number.
fn big_endian(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0, |number, byte| (number << 8) | u32::from(*byte))
}

impl<'a> AuthenticatorData<'a> {
    /// Parses `bytes`; every byte must be accounted for.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, WebauthnError> {
        let mut rest = bytes;
        let rp_id_hash = take(&mut rest, 32, "shorter than 37 bytes")?;
        let flags = big_endian(take(&mut rest, 1, "shorter than 37 bytes")?) as u8;
        let sign_count = big_endian(take(&mut rest, 4, "shorter than 37 bytes")?);
        let attested = if flags & AT != 0 {
            let mut aaguid = [0; 16];
            aaguid.copy_from_slice(take(&mut rest, 16, "attested credential data cut short")?);
            let id_length = big_endian(take(&mut rest, 2, "attested credential data cut short")?) as usize;
            if !(MIN_CREDENTIAL_ID..=MAX_CREDENTIAL_ID).contains(&id_length) {
                return Err(malformed("credential id length"));
            }
            let id = take(&mut rest, id_length, "credential id length")?;
            let public_key = take_cbor_item(&mut rest)?;
            Some(AttestedCredential { aaguid, id, public_key })
        } else {
            None
        };
        if flags & ED != 0 {
            take_cbor_item(&mut rest)?;
        }
        if !rest.is_empty() {
            return Err(malformed("bytes left over"));
        }
        Ok(Self { rp_id_hash, flags, sign_count, attested })
    }

    /// Whether the user was present.
    pub fn user_present(&self) -> bool {
        self.flags & UP != 0
    }

    /// Whether the user was verified.
    pub fn user_verified(&self) -> bool {
        self.flags & UV != 0
    }

    /// Whether the credential is backup eligible.
    pub fn backup_eligible(&self) -> bool {
        self.flags & BE != 0
    }

    /// Whether the credential is backed up.
    pub fn backup_state(&self) -> bool {
        self.flags & BS != 0
    }

    /// Checks what every ceremony requires: the RP ID hash of `rp_id`, user presence, user verification when
    /// `require_user_verification`, and no backup state without backup eligibility.
    pub fn check(&self, rp_id: &str, require_user_verification: bool) -> Result<(), WebauthnError> {
        let expected = Sha256::digest(rp_id.as_bytes());
        if !bool::from(self.rp_id_hash.ct_eq(expected.as_slice())) {
            return Err(WebauthnError::RpIdMismatch);
        }
        if !self.user_present() {
            return Err(WebauthnError::UserNotPresent);
        }
        if require_user_verification && !self.user_verified() {
            return Err(WebauthnError::UserNotVerified);
        }
        if self.backup_state() && !self.backup_eligible() {
            return Err(WebauthnError::BackupFlagsInvalid);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(flags: u8, count: u32, tail: &[u8]) -> Vec<u8> {
        let mut bytes = Sha256::digest(b"example.com").to_vec();
        bytes.push(flags);
        bytes.extend_from_slice(&count.to_be_bytes());
        bytes.extend_from_slice(tail);
        bytes
    }

    #[test]
    fn reads_an_assertion_s_data() {
        let bytes = data(UP | UV, 7, &[]);
        let parsed = AuthenticatorData::parse(&bytes).unwrap();
        assert_eq!(parsed.sign_count, 7);
        assert!(parsed.user_present() && parsed.user_verified() && parsed.attested.is_none());
        assert_eq!(parsed.check("example.com", true), Ok(()));
        assert_eq!(parsed.check("other.example", false), Err(WebauthnError::RpIdMismatch));
    }

    #[test]
    fn reads_an_attested_credential_and_extensions() {
        let mut tail = vec![9; 16];
        tail.extend_from_slice(&16u16.to_be_bytes());
        tail.extend_from_slice(&[5; 16]);
        tail.extend_from_slice(&[0xa1, 0x01, 0x02]); // the "key": {1: 2}
        tail.extend_from_slice(&[0xa0]); // extensions: {}
        let bytes = data(UP | AT | ED, 0, &tail);
        let parsed = AuthenticatorData::parse(&bytes).unwrap();
        let attested = parsed.attested.unwrap();
        assert_eq!(attested.aaguid, [9; 16]);
        assert_eq!(attested.id, &[5; 16]);
        assert_eq!(attested.public_key, &[0xa1, 0x01, 0x02]);
        // Without ED, the extensions are bytes left over.
        assert!(AuthenticatorData::parse(&data(UP | AT, 0, &tail)).is_err());
    }

    #[test]
    fn refuses_short_or_inconsistent_data() {
        assert!(AuthenticatorData::parse(&[0; 36]).is_err());
        assert!(AuthenticatorData::parse(&data(UP, 0, &[1])).is_err());
        assert!(AuthenticatorData::parse(&data(UP | AT, 0, &[0; 17])).is_err());
        let mut short_id = vec![0; 16];
        short_id.extend_from_slice(&15u16.to_be_bytes());
        short_id.extend_from_slice(&[1; 15]);
        short_id.push(0xa0);
        assert!(AuthenticatorData::parse(&data(UP | AT, 0, &short_id)).is_err());
    }

    #[test]
    fn checks_presence_verification_and_backup_flags() {
        let check = |flags, uv| AuthenticatorData::parse(&data(flags, 0, &[])).unwrap().check("example.com", uv);
        assert_eq!(check(UV, false), Err(WebauthnError::UserNotPresent));
        assert_eq!(check(UP, true), Err(WebauthnError::UserNotVerified));
        assert_eq!(check(UP, false), Ok(()));
        assert_eq!(check(UP | BS, false), Err(WebauthnError::BackupFlagsInvalid));
        assert_eq!(check(UP | BE | BS, false), Ok(()));
    }
}
