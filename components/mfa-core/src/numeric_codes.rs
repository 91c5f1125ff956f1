//! Short numeric one-time codes, such as those sent by SMS.
//!
//! Codes are drawn uniformly from all `digits`-digit strings (rejection sampling, so no modulo bias). They are
//! stored as a keyed hash bound to what they were sent for (a challenge or enrollment id), so a code sent for one
//! purpose never verifies another, and a leaked table without the pepper cannot be brute-forced offline.

use rand::{CryptoRng, Rng};

use crate::keyed_hash::{self, HASH_BYTES, Pepper, PepperTooShort};

/// The default code length.
pub const DEFAULT_DIGITS: u8 = 6;
/// The shortest code.
pub const MIN_DIGITS: u8 = 4;
/// The longest code.
pub const MAX_DIGITS: u8 = 10;
const DOMAIN: &str = "mfa-core/numeric-code/v1";

/// Why a numeric code could not be issued, hashed or checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NumericCodeError {
    /// Digits outside 4..=10.
    #[error("numeric codes have 4 to 10 digits, not {0}")]
    InvalidDigits(u8),
    /// A pepper under 16 bytes.
    #[error(transparent)]
    PepperTooShort(#[from] PepperTooShort),
    /// An empty binding.
    #[error("a code must be bound to what it was sent for")]
    EmptyBinding,
    /// Not the right number of digits.
    #[error("the code is not the expected number of digits")]
    MalformedCode,
    /// A stored hash of the wrong length.
    #[error("the stored code hash is corrupt")]
    CorruptHash,
}

/// A new uniform code of `digits` digits.
pub fn generate(digits: u8, rng: &mut impl CryptoRng) -> Result<String, NumericCodeError> {
    check_digits(digits)?;
    let bound = 10u64.pow(u32::from(digits));
    // `random_range` rejects out-of-range draws rather than reducing them modulo the bound: uniform.
    let value = rng.random_range(0..bound);
    Ok(format!("{value:0width$}", width = usize::from(digits)))
}

/// The keyed hash to store for `code` sent for `binding`.
pub fn hash(pepper: &[u8], binding: &str, code: &str) -> Result<Vec<u8>, NumericCodeError> {
    let pepper = Pepper::new(pepper)?;
    let code = normalize(code, None)?;
    hash_with(&pepper, binding, &code)
}

/// Whether `input` is the code behind `stored_hash` for `binding`, compared in constant time.
pub fn verify(
    pepper: &[u8],
    binding: &str,
    digits: u8,
    input: &str,
    stored_hash: &[u8],
) -> Result<bool, NumericCodeError> {
    check_digits(digits)?;
    let pepper = Pepper::new(pepper)?;
    if stored_hash.len() != HASH_BYTES {
        return Err(NumericCodeError::CorruptHash);
    }
    let code = normalize(input, Some(digits))?;
    let expected = hash_with(&pepper, binding, &code)?;
    Ok(keyed_hash::equal(&expected, stored_hash).into())
}

fn hash_with(pepper: &Pepper, binding: &str, code: &str) -> Result<Vec<u8>, NumericCodeError> {
    if binding.is_empty() {
        return Err(NumericCodeError::EmptyBinding);
    }
    Ok(pepper.hash(DOMAIN, &[binding.as_bytes(), code.as_bytes()]).to_vec())
}

fn check_digits(digits: u8) -> Result<(), NumericCodeError> {
    if (MIN_DIGITS..=MAX_DIGITS).contains(&digits) { Ok(()) } else { Err(NumericCodeError::InvalidDigits(digits)) }
}

/// The code without spaces or dashes, if it is all ASCII digits of an allowed length (exactly `digits` if given).
fn normalize(input: &str, digits: Option<u8>) -> Result<String, NumericCodeError> {
    let code: String = input.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let length_ok = match digits {
        Some(digits) => code.len() == usize::from(digits),
        None => (usize::from(MIN_DIGITS)..=usize::from(MAX_DIGITS)).contains(&code.len()),
    };
    if length_ok && code.bytes().all(|b| b.is_ascii_digit()) { Ok(code) } else { Err(NumericCodeError::MalformedCode) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{SeedableRng, rngs::StdRng};

    const PEPPER: &[u8] = b"a pepper of 32 bytes, at least!!";

    #[test]
    fn codes_have_the_digits_asked_for() {
        let mut rng = StdRng::seed_from_u64(1);
        for digits in MIN_DIGITS..=MAX_DIGITS {
            let code = generate(digits, &mut rng).unwrap();
            assert_eq!(code.len(), usize::from(digits));
            assert!(code.bytes().all(|b| b.is_ascii_digit()));
        }
        assert_eq!(generate(3, &mut rng), Err(NumericCodeError::InvalidDigits(3)));
        assert_eq!(generate(11, &mut rng), Err(NumericCodeError::InvalidDigits(11)));
    }

    #[test]
    fn leading_digits_are_uniform_including_zero() {
        let mut rng = StdRng::seed_from_u64(2);
        let mut first = [0u32; 10];
        for _ in 0..5000 {
            let code = generate(6, &mut rng).unwrap();
            first[usize::from(code.as_bytes()[0] - b'0')] += 1;
        }
        // 500 expected per digit; zero-padding must keep leading zeros as likely as any other digit.
        assert!(first.iter().all(|n| (400..=600).contains(n)), "{first:?}");
    }

    #[test]
    fn a_code_verifies_only_for_its_binding() {
        let stored = hash(PEPPER, "challenge-1", "012345").unwrap();
        assert_eq!(stored.len(), 32);
        assert_eq!(verify(PEPPER, "challenge-1", 6, "012345", &stored), Ok(true));
        assert_eq!(verify(PEPPER, "challenge-1", 6, "012 345", &stored), Ok(true));
        assert_eq!(verify(PEPPER, "challenge-1", 6, "012-345", &stored), Ok(true));
        assert_eq!(verify(PEPPER, "challenge-2", 6, "012345", &stored), Ok(false));
        assert_eq!(verify(PEPPER, "challenge-1", 6, "012346", &stored), Ok(false));
        assert_eq!(verify(b"another pepper of 32 bytes......", "challenge-1", 6, "012345", &stored), Ok(false));
    }

    #[test]
    fn errors_are_typed() {
        let stored = hash(PEPPER, "c", "123456").unwrap();
        assert_eq!(hash(b"short", "c", "123456"), Err(NumericCodeError::PepperTooShort(PepperTooShort(5))));
        assert_eq!(hash(PEPPER, "", "123456"), Err(NumericCodeError::EmptyBinding));
        assert_eq!(hash(PEPPER, "c", "12a456"), Err(NumericCodeError::MalformedCode));
        assert_eq!(verify(PEPPER, "c", 6, "12345", &stored), Err(NumericCodeError::MalformedCode));
        assert_eq!(verify(PEPPER, "c", 6, "1234567", &stored), Err(NumericCodeError::MalformedCode));
        assert_eq!(verify(PEPPER, "c", 6, "123456", &stored[..31]), Err(NumericCodeError::CorruptHash));
        assert_eq!(verify(PEPPER, "c", 12, "123456", &stored), Err(NumericCodeError::InvalidDigits(12)));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_input_never_panics(input in "\\PC{0,30}") {
            let stored = [0u8; 32];
            let _ = verify(PEPPER, "c", 6, &input, &stored);
            let _ = hash(PEPPER, "c", &input);
        }
    }
}
