//! Shared secrets for authenticator apps and their Base32 text form ([RFC 4648 §6]).
//!
//! Decoding is lenient about how people and apps write Base32 (any case, spaces, optional `=` padding) and strict
//! about everything else, with the position of the first bad character in the error.
//!
//! [RFC 4648 §6]: https://www.rfc-editor.org/rfc/rfc4648#section-6

use data_encoding::{BASE32_NOPAD, DecodeKind};
use rand::CryptoRng;

/// The default secret size, in bits ([RFC 4226 §4] recommends 160).
///
/// [RFC 4226 §4]: https://www.rfc-editor.org/rfc/rfc4226#section-4
pub const DEFAULT_SECRET_BITS: u32 = 160;
/// The longest Base32 text accepted, in characters.
pub const MAX_BASE32_CHARS: usize = 1024;

/// Why a secret could not be generated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// Not a multiple of 8 in 128..=512.
    #[error("a secret has 128 to 512 bits in whole bytes, not {0}")]
    InvalidSize(u32),
}

/// Why a Base32 text could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Base32Error {
    /// Nothing to decode.
    #[error("the Base32 text is empty")]
    Empty,
    /// A character outside the alphabet, at this character position.
    #[error("character {0} is not Base32 (A-Z, 2-7)")]
    InvalidCharacter(u32),
    /// A length no whole number of bytes encodes to.
    #[error("the Base32 text has an impossible length")]
    InvalidLength,
    /// Non-zero bits after the last whole byte.
    #[error("the last Base32 character carries non-zero bits")]
    NonZeroTrailingBits,
    /// `=` before the end.
    #[error("padding appears before the end of the Base32 text")]
    MisplacedPadding,
    /// Over [`MAX_BASE32_CHARS`] characters.
    #[error("the Base32 text is too long")]
    TooLong,
}

/// A new random secret of `bits` bits from `rng`.
pub fn generate_secret(bits: u32, rng: &mut impl CryptoRng) -> Result<Vec<u8>, SecretError> {
    if !(128..=512).contains(&bits) || !bits.is_multiple_of(8) {
        return Err(SecretError::InvalidSize(bits));
    }
    let mut secret = vec![0u8; (bits / 8) as usize];
    rng.fill_bytes(&mut secret);
    Ok(secret)
}

/// Upper-case Base32 without padding.
pub fn encode_base32(bytes: &[u8]) -> String {
    BASE32_NOPAD.encode(bytes)
}

/// Decodes Base32 in any case, ignoring whitespace and trailing `=` padding.
pub fn decode_base32(text: &str) -> Result<Vec<u8>, Base32Error> {
    if text.chars().count() > MAX_BASE32_CHARS {
        return Err(Base32Error::TooLong);
    }
    // The canonical symbols, and for each the character position it came from (for error reports).
    let mut symbols = String::with_capacity(text.len());
    let mut positions = Vec::with_capacity(text.len());
    let mut padding_seen = false;
    for (position, c) in (0u32..).zip(text.chars()) {
        match c {
            c if c.is_whitespace() => {}
            '=' => padding_seen = true,
            'a'..='z' | 'A'..='Z' | '2'..='7' if padding_seen => return Err(Base32Error::MisplacedPadding),
            'a'..='z' | 'A'..='Z' | '2'..='7' => {
                symbols.push(c.to_ascii_uppercase());
                positions.push(position);
            }
            _ => return Err(Base32Error::InvalidCharacter(position)),
        }
    }
    if symbols.is_empty() {
        return Err(Base32Error::Empty);
    }
    BASE32_NOPAD.decode(symbols.as_bytes()).map_err(|error| match error.kind {
        DecodeKind::Trailing => Base32Error::NonZeroTrailingBits,
        DecodeKind::Symbol => Base32Error::InvalidCharacter(positions.get(error.position).copied().unwrap_or_default()),
        DecodeKind::Length | DecodeKind::Padding => Base32Error::InvalidLength,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{SeedableRng, rngs::StdRng};

    #[test]
    fn rfc4648_test_vectors_round_trip() {
        for (bytes, text) in [
            (&b""[..], ""),
            (b"f", "MY"),
            (b"fo", "MZXQ"),
            (b"foo", "MZXW6"),
            (b"foob", "MZXW6YQ"),
            (b"fooba", "MZXW6YTB"),
            (b"foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(encode_base32(bytes), text);
            if !text.is_empty() {
                assert_eq!(decode_base32(text).as_deref(), Ok(bytes));
            }
        }
    }

    #[test]
    fn decoding_is_lenient_about_case_spaces_and_padding() {
        let expected = b"foobar".to_vec();
        for text in ["MZXW6YTBOI", "mzxw6ytboi", "MZXW 6YTB OI", " mzxw6ytboi\n", "MZXW6YTBOI======", "MZXW6YTBOI=== ="]
        {
            assert_eq!(decode_base32(text), Ok(expected.clone()), "{text:?}");
        }
    }

    #[test]
    fn bad_base32_gets_a_precise_error() {
        assert_eq!(decode_base32(""), Err(Base32Error::Empty));
        assert_eq!(decode_base32("  ==="), Err(Base32Error::Empty));
        assert_eq!(decode_base32("MZXW1YTB"), Err(Base32Error::InvalidCharacter(4)));
        assert_eq!(decode_base32("MZ XW8"), Err(Base32Error::InvalidCharacter(5)));
        assert_eq!(decode_base32("é"), Err(Base32Error::InvalidCharacter(0)));
        assert_eq!(decode_base32("MZ=XW"), Err(Base32Error::MisplacedPadding));
        assert_eq!(decode_base32("M"), Err(Base32Error::InvalidLength));
        assert_eq!(decode_base32("MZX"), Err(Base32Error::InvalidLength));
        assert_eq!(decode_base32("MY"), Ok(b"f".to_vec()));
        assert_eq!(decode_base32("MZ"), Err(Base32Error::NonZeroTrailingBits));
        assert_eq!(decode_base32(&"A".repeat(MAX_BASE32_CHARS + 1)), Err(Base32Error::TooLong));
    }

    #[test]
    fn secrets_have_the_size_asked_for() {
        let mut rng = StdRng::seed_from_u64(7);
        assert_eq!(generate_secret(DEFAULT_SECRET_BITS, &mut rng).map(|s| s.len()), Ok(20));
        assert_eq!(generate_secret(128, &mut rng).map(|s| s.len()), Ok(16));
        assert_eq!(generate_secret(512, &mut rng).map(|s| s.len()), Ok(64));
        for bad in [0, 120, 129, 520, u32::MAX] {
            assert_eq!(generate_secret(bad, &mut rng), Err(SecretError::InvalidSize(bad)));
        }
        let a = generate_secret(160, &mut rng);
        let b = generate_secret(160, &mut rng);
        assert_ne!(a, b);
    }

    proptest::proptest! {
        #[test]
        fn any_text_decodes_or_errors_without_panicking(text in "\\PC{0,80}") {
            let _ = decode_base32(&text);
        }

        #[test]
        fn encoded_bytes_decode_back(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 1..80)) {
            let text = encode_base32(&bytes);
            proptest::prop_assert_eq!(decode_base32(&text.to_lowercase()), Ok(bytes));
        }
    }
}
