//! One-time backup codes: look-up secrets (NIST 800-63B §5.1.2, OWASP ASVS 2.6).
//!
//! A code is 12 symbols of [Crockford Base32] (5 bits each, 60 bits in all), shown as `XXXX-XXXX-XXXX`. Typed input
//! is read the way Crockford intends: any case, separators ignored, `O` as `0`, `I` and `L` as `1`. Storage is a
//! keyed hash over a random per-code salt (ASVS 2.6.2), so a database dump without the pepper reveals nothing and
//! equal codes never share a hash.
//!
//! [Crockford Base32]: https://www.crockford.com/base32.html

use rand::CryptoRng;
use subtle::{Choice, ConditionallySelectable};

use crate::keyed_hash::{self, HASH_BYTES, Pepper, PepperTooShort};

/// Crockford's alphabet: digits and upper-case letters without I, L, O and U.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Symbols per code (12 x 5 = 60 bits).
pub const CODE_SYMBOLS: usize = 12;
/// Codes issued when the caller has no preference.
pub const DEFAULT_COUNT: u32 = 10;
/// The most codes issued at once.
pub const MAX_COUNT: u32 = 100;
/// Salt length in bytes.
pub const SALT_BYTES: usize = 16;
const DOMAIN: &str = "mfa-core/backup-code/v1";

/// A code prepared for storage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HashedCode {
    /// Random bytes unique to this code.
    pub salt: Vec<u8>,
    /// The keyed hash of salt and code.
    pub hash: Vec<u8>,
}

/// Why backup codes could not be issued, hashed or checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BackupCodeError {
    /// A count outside 1..=100.
    #[error("1 to 100 backup codes can be issued, not {0}")]
    InvalidCount(u32),
    /// A pepper under 16 bytes.
    #[error(transparent)]
    PepperTooShort(#[from] PepperTooShort),
    /// Not a backup code.
    #[error("a backup code is 12 letters and digits")]
    MalformedCode,
    /// A stored entry of the wrong shape, at this index.
    #[error("stored backup code {0} is corrupt")]
    CorruptEntry(u32),
}

/// `count` new codes formatted `XXXX-XXXX-XXXX`.
pub fn generate(count: u32, rng: &mut impl CryptoRng) -> Result<Vec<String>, BackupCodeError> {
    if !(1..=MAX_COUNT).contains(&count) {
        return Err(BackupCodeError::InvalidCount(count));
    }
    Ok((0..count).map(|_| generate_one(rng)).collect())
}

fn generate_one(rng: &mut impl CryptoRng) -> String {
    let mut bytes = [0u8; CODE_SYMBOLS];
    rng.fill_bytes(&mut bytes);
    let mut code = String::with_capacity(CODE_SYMBOLS + 2);
    for (index, byte) in bytes.iter().enumerate() {
        if index > 0 && index % 4 == 0 {
            code.push('-');
        }
        // 32 divides 256, so the low five bits of a uniform byte are uniform; masked, the index is always in range.
        #[allow(clippy::indexing_slicing)]
        code.push(char::from(ALPHABET[usize::from(byte & 31)]));
    }
    code
}

/// The canonical form of a typed code: 12 upper-case symbols, no separators.
pub fn normalize(input: &str) -> Result<String, BackupCodeError> {
    let mut code = String::with_capacity(CODE_SYMBOLS);
    for c in input.chars().filter(|c| !matches!(c, ' ' | '-' | '\t')) {
        let c = match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        };
        if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) || code.len() == CODE_SYMBOLS {
            return Err(BackupCodeError::MalformedCode);
        }
        code.push(c);
    }
    if code.len() == CODE_SYMBOLS { Ok(code) } else { Err(BackupCodeError::MalformedCode) }
}

/// Hashes one code with a fresh salt from `rng`.
pub fn hash(pepper: &[u8], code: &str, rng: &mut impl CryptoRng) -> Result<HashedCode, BackupCodeError> {
    let pepper = Pepper::new(pepper)?;
    let code = normalize(code)?;
    let mut salt = vec![0u8; SALT_BYTES];
    rng.fill_bytes(&mut salt);
    let hash = pepper.hash(DOMAIN, &[&salt, code.as_bytes()]).to_vec();
    Ok(HashedCode { salt, hash })
}

/// The index of the stored entry `input` matches, or none. Every entry is hashed and compared whatever matches,
/// so the time taken reveals neither whether nor where the code matched.
pub fn verify(pepper: &[u8], input: &str, stored: &[HashedCode]) -> Result<Option<u32>, BackupCodeError> {
    let pepper = Pepper::new(pepper)?;
    let code = normalize(input)?;
    let mut found = Choice::from(0);
    let mut matched = 0u32;
    for (index, entry) in (0u32..).zip(stored) {
        if entry.salt.len() != SALT_BYTES || entry.hash.len() != HASH_BYTES {
            return Err(BackupCodeError::CorruptEntry(index));
        }
        let expected = pepper.hash(DOMAIN, &[&entry.salt, code.as_bytes()]);
        let is_match = keyed_hash::equal(&expected, &entry.hash);
        matched.conditional_assign(&index, is_match & !found);
        found |= is_match;
    }
    Ok(bool::from(found).then_some(matched))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{SeedableRng, rngs::StdRng};

    const PEPPER: &[u8] = b"a pepper of 32 bytes, at least!!";

    #[test]
    fn codes_are_twelve_crockford_symbols_in_three_groups() {
        let mut rng = StdRng::seed_from_u64(1);
        let codes = generate(DEFAULT_COUNT, &mut rng).unwrap();
        assert_eq!(codes.len(), 10);
        for code in &codes {
            assert_eq!(code.len(), 14);
            let groups: Vec<&str> = code.split('-').collect();
            assert_eq!(groups.iter().map(|g| g.len()).collect::<Vec<_>>(), [4, 4, 4]);
            assert!(code.chars().filter(|c| *c != '-').all(|c| ALPHABET.contains(&(c as u8))));
            assert!(!code.contains(['I', 'L', 'O', 'U']));
        }
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), 10);
        assert_eq!(generate(0, &mut rng), Err(BackupCodeError::InvalidCount(0)));
        assert_eq!(generate(101, &mut rng), Err(BackupCodeError::InvalidCount(101)));
    }

    #[test]
    fn entropy_is_at_least_sixty_bits() {
        let bits = CODE_SYMBOLS as f64 * (ALPHABET.len() as f64).log2();
        assert!(bits >= 60.0, "{bits}");
    }

    #[test]
    fn every_symbol_is_used_about_equally() {
        let mut rng = StdRng::seed_from_u64(2);
        let mut counts = [0u32; 32];
        for code in generate(100, &mut rng).unwrap().iter().chain(generate(100, &mut rng).unwrap().iter()) {
            for c in code.bytes().filter(|b| *b != b'-') {
                counts[ALPHABET.iter().position(|a| *a == c).unwrap()] += 1;
            }
        }
        // 2400 symbols over 32 values: 75 expected each; a biased generator would leave some far off.
        assert!(counts.iter().all(|n| (40..=115).contains(n)), "{counts:?}");
    }

    #[test]
    fn typed_input_is_normalised() {
        assert_eq!(normalize("abcd-efgh-jkmn").unwrap(), "ABCDEFGHJKMN");
        assert_eq!(normalize(" ABCD EFGH JKMN ").unwrap(), "ABCDEFGHJKMN");
        assert_eq!(normalize("oOiI-lL00-1111").unwrap(), "001111001111");
        for bad in ["", "ABCD-EFGH-JKM", "ABCD-EFGH-JKMNP", "ABCD-EFGH-JKMU", "ABCD_EFGH_JKMN", "ÄBCD-EFGH-JKMN"] {
            assert_eq!(normalize(bad), Err(BackupCodeError::MalformedCode), "{bad:?}");
        }
    }

    #[test]
    fn a_code_verifies_against_its_own_entry_only() {
        let mut rng = StdRng::seed_from_u64(3);
        let codes = generate(10, &mut rng).unwrap();
        let stored: Vec<HashedCode> = codes.iter().map(|c| hash(PEPPER, c, &mut rng).unwrap()).collect();
        for (index, code) in codes.iter().enumerate() {
            assert_eq!(verify(PEPPER, code, &stored), Ok(Some(index as u32)));
            assert_eq!(verify(PEPPER, &code.to_lowercase().replace('-', " "), &stored), Ok(Some(index as u32)));
        }
        assert_eq!(verify(PEPPER, "0000-0000-0000", &stored), Ok(None));
        assert_eq!(verify(b"another pepper of 32 bytes......", &codes[0], &stored), Ok(None));
        assert_eq!(verify(PEPPER, &codes[0], &[]), Ok(None));
    }

    #[test]
    fn equal_codes_get_different_salts_and_hashes() {
        let mut rng = StdRng::seed_from_u64(4);
        let a = hash(PEPPER, "ABCD-EFGH-JKMN", &mut rng).unwrap();
        let b = hash(PEPPER, "ABCD-EFGH-JKMN", &mut rng).unwrap();
        assert_eq!((a.salt.len(), a.hash.len()), (16, 32));
        assert_ne!(a.salt, b.salt);
        assert_ne!(a.hash, b.hash);
    }

    #[test]
    fn errors_are_typed() {
        let mut rng = StdRng::seed_from_u64(5);
        assert_eq!(hash(b"short", "ABCD-EFGH-JKMN", &mut rng), Err(BackupCodeError::PepperTooShort(PepperTooShort(5))));
        assert_eq!(hash(PEPPER, "nope", &mut rng), Err(BackupCodeError::MalformedCode));
        let good = hash(PEPPER, "ABCD-EFGH-JKMN", &mut rng).unwrap();
        let corrupt = HashedCode { salt: vec![0; 15], hash: vec![0; 32] };
        assert_eq!(verify(PEPPER, "ABCD-EFGH-JKMN", &[good, corrupt]), Err(BackupCodeError::CorruptEntry(1)));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_input_never_panics(input in "\\PC{0,40}") {
            let _ = normalize(&input);
            let _ = verify(PEPPER, &input, &[]);
        }
    }
}
