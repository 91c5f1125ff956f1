//! Bearer secrets (`mfa:session/tokens`): session tokens, login-challenge ids and device ids, and the storage key
//! that stands for one in storage.
//!
//! A token is [`TOKEN_BYTES`] random bytes written as URL-safe Base64 without padding (43 characters). Storage only
//! ever sees [`storage_key`], the lower-case hex SHA-256 of the token's text, so a dump of the store hands out no
//! live secret.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

/// Random bytes in a new token (256 bits).
pub const TOKEN_BYTES: usize = 32;

/// The fewest decoded bytes [`storage_key`] accepts.
pub const MIN_TOKEN_BYTES: usize = 16;

/// The most decoded bytes [`storage_key`] accepts.
pub const MAX_TOKEN_BYTES: usize = 64;

/// Why a text is not a token or id this service could have issued (WIT `token-error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not URL-safe Base64 without padding, or not its canonical form.
    #[error("not canonical URL-safe Base64 without padding")]
    Malformed,
    /// Decodes to fewer than [`MIN_TOKEN_BYTES`] or more than [`MAX_TOKEN_BYTES`] bytes.
    #[error("decodes to fewer than {MIN_TOKEN_BYTES} or more than {MAX_TOKEN_BYTES} bytes")]
    WrongLength,
}

/// A new token: [`TOKEN_BYTES`] bytes from `rng`, URL-safe Base64 without padding (43 characters).
///
/// Session tokens, login-challenge ids and device ids all have this form.
pub fn new_token(rng: &mut impl rand::CryptoRng) -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    rng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The storage key of a token or id: the lower-case hex SHA-256 of its text (64 characters).
///
/// Refuses text that is not canonical URL-safe Base64 without padding ([`TokenError::Malformed`]) or that decodes
/// to fewer than [`MIN_TOKEN_BYTES`] or more than [`MAX_TOKEN_BYTES`] bytes ([`TokenError::WrongLength`]).
pub fn storage_key(token: &str) -> Result<String, TokenError> {
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| TokenError::Malformed)?;
    // The decoder already refuses padding and non-zero trailing bits; re-encoding makes "canonical" explicit.
    if URL_SAFE_NO_PAD.encode(&bytes) != token {
        return Err(TokenError::Malformed);
    }
    if !(MIN_TOKEN_BYTES..=MAX_TOKEN_BYTES).contains(&bytes.len()) {
        return Err(TokenError::WrongLength);
    }
    Ok(lower_hex(&Sha256::digest(token.as_bytes())))
}

/// `bytes` as lower-case hexadecimal.
fn lower_hex(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng as _;
    use rand::rngs::StdRng;

    const ZERO_16: &str = "AAAAAAAAAAAAAAAAAAAAAA";
    const SEQ_32: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
    const SEQ_64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0-Pw";

    #[test]
    fn new_token_is_43_url_safe_characters_of_32_bytes() {
        let mut rng = StdRng::seed_from_u64(7);
        let token = new_token(&mut rng);
        assert_eq!(token.len(), 43);
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(URL_SAFE_NO_PAD.decode(&token).map(|b| b.len()), Ok(32));
        assert!(storage_key(&token).is_ok());
    }

    #[test]
    fn new_tokens_differ() {
        let mut rng = StdRng::seed_from_u64(7);
        let first = new_token(&mut rng);
        let second = new_token(&mut rng);
        assert_ne!(first, second);
    }

    #[test]
    fn storage_key_vectors() {
        // printf '%s' TEXT | sha256sum
        assert_eq!(
            storage_key(ZERO_16).as_deref(),
            Ok("8a5bdb4cc15164126c6ef2668de9dd240d299ce6397a42c95a9411b93d080ed8")
        );
        assert_eq!(
            storage_key(SEQ_32).as_deref(),
            Ok("ea866a757e4c38babfa8127cbe9a409d3e1f93a00ff1488ff735fcf917afffd0")
        );
        assert_eq!(
            storage_key("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").as_deref(),
            Ok("0f007385b6f9d4b7eeb2748605afe1a984a0a3bfa3f014d09e2a784ce9e5cd1a")
        );
    }

    #[test]
    fn storage_key_accepts_16_and_64_bytes_refuses_15_and_65() {
        assert!(storage_key(ZERO_16).is_ok());
        assert!(storage_key(SEQ_64).is_ok());
        let fifteen = URL_SAFE_NO_PAD.encode([1u8; 15]);
        let sixty_five = URL_SAFE_NO_PAD.encode([1u8; 65]);
        assert_eq!(storage_key(&fifteen), Err(TokenError::WrongLength));
        assert_eq!(storage_key(&sixty_five), Err(TokenError::WrongLength));
        assert_eq!(storage_key(""), Err(TokenError::WrongLength));
    }

    #[test]
    fn storage_key_refuses_non_canonical_and_foreign_forms() {
        // Padding.
        assert_eq!(storage_key("AAAAAAAAAAAAAAAAAAAAAA=="), Err(TokenError::Malformed));
        // Standard alphabet characters.
        assert_eq!(
            storage_key("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw"),
            Err(TokenError::Malformed)
        );
        // Non-zero trailing bits: "AAAAAAAAAAAAAAAAAAAAAB" decodes to the same bytes as ZERO_16 if tolerated.
        assert_eq!(storage_key("AAAAAAAAAAAAAAAAAAAAAB"), Err(TokenError::Malformed));
        // Impossible length (4n + 1 characters).
        assert_eq!(storage_key("AAAAAAAAAAAAAAAAAAAAAAAAA"), Err(TokenError::Malformed));
        // Whitespace and other characters.
        assert_eq!(storage_key(" AAAAAAAAAAAAAAAAAAAAAA"), Err(TokenError::Malformed));
        assert_eq!(storage_key("AAAAAAAAAAAAAAAAAAAAA\u{e9}"), Err(TokenError::Malformed));
    }

    #[test]
    fn lower_hex_digits() {
        assert_eq!(lower_hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
        assert_eq!(lower_hex(&[]), "");
    }

    proptest! {
        #[test]
        fn storage_key_never_panics(text in any::<String>()) {
            let _ = storage_key(&text);
        }

        #[test]
        fn storage_key_never_panics_on_base64_like_text(text in "[A-Za-z0-9_=+/-]{0,100}") {
            if let Ok(key) = storage_key(&text) {
                prop_assert_eq!(key.len(), 64);
                prop_assert!(key.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
            }
        }

        #[test]
        fn storage_key_accepts_every_canonical_encoding(bytes in proptest::collection::vec(any::<u8>(), 16..=64)) {
            let token = URL_SAFE_NO_PAD.encode(&bytes);
            let key = storage_key(&token);
            prop_assert!(key.is_ok());
        }
    }
}
