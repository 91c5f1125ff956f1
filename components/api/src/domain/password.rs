//! Passwords: the policy of the design (8 to 128 characters, no composition rules, refused when they contain the
//! email or when the zxcvbn strength estimate, given the email as context, scores them below 3 of 4), hashing with
//! argon2id at OWASP's parameters (19 MiB, 2 passes, 1 lane) and a random 128-bit salt, and verification that
//! costs the same whether or not the user exists.
//!
//! The estimator is the `zxcvbn` crate at 2.1.2: its later releases read the clock through JavaScript on every
//! wasm32 target and trap under WASI, while 2.1.2 uses the standard library's clock, which WASI provides.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::TryRngCore;

/// Shortest password accepted, in characters.
pub const MIN_CHARS: usize = 8;
/// Longest password accepted, in characters.
pub const MAX_CHARS: usize = 128;

/// Why a password is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Fewer than [`MIN_CHARS`] characters.
    #[error("the password must have at least {MIN_CHARS} characters")]
    TooShort,
    /// More than [`MAX_CHARS`] characters.
    #[error("the password must have at most {MAX_CHARS} characters")]
    TooLong,
    /// It contains the account's email (or its name part).
    #[error("the password must not contain the email address")]
    ContainsEmail,
    /// The strength estimate is below [`MIN_SCORE`].
    #[error(
        "the password is too easy to guess (strength {score} of 4, {MIN_SCORE} needed): a longer phrase of unrelated words works well"
    )]
    TooWeak {
        /// zxcvbn's score, 0 to 4.
        score: u8,
    },
}

/// The lowest zxcvbn score accepted (3: "safely unguessable: moderate protection from offline slow-hash scenario").
pub const MIN_SCORE: u8 = 3;

/// Checks `password` for the account `email` against the policy.
pub fn check(password: &str, email: &str) -> Result<(), PasswordError> {
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        return Err(PasswordError::TooShort);
    }
    if chars > MAX_CHARS {
        return Err(PasswordError::TooLong);
    }
    let lower = password.to_lowercase();
    let email = email.to_lowercase();
    let local = email.split('@').next().unwrap_or("");
    if (!email.is_empty() && lower.contains(&email)) || (local.chars().count() >= 3 && lower.contains(local)) {
        return Err(PasswordError::ContainsEmail);
    }
    // The email and its parts are what an attacker would try first: zxcvbn counts them as a dictionary.
    let mut context: Vec<&str> = vec![email.as_str(), local];
    context.extend(email.split(['@', '.', '_', '-', '+']).filter(|part| part.len() >= 3));
    let score = zxcvbn::zxcvbn(password, &context).map(|estimate| estimate.score()).unwrap_or(0);
    if score < MIN_SCORE {
        return Err(PasswordError::TooWeak { score });
    }
    Ok(())
}

fn hasher() -> Argon2<'static> {
    // OWASP's argon2id configuration: m = 19 MiB, t = 2, p = 1.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Why a hash could not be made.
#[derive(Debug, thiserror::Error)]
#[error("the password could not be hashed")]
pub struct HashError;

/// The PHC string of `password` under a fresh random salt.
pub fn hash(password: &str) -> Result<String, HashError> {
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.try_fill_bytes(&mut salt).map_err(|_| HashError)?;
    hasher().hash_password_with_salt(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|_| HashError)
}

/// A hash of nothing anyone knows, verified against when a user does not exist so that both paths cost the same.
const DECOY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZSBkZWNveSBzYWx0$3fX5mRvTq+0KIG0a9S3u4v0sYJqN1H6Jr8iHfJmX1vE";

/// Whether `password` matches `stored` (a PHC string); with `None` it does the same work and answers false.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    let phc = stored.unwrap_or(DECOY);
    let Ok(parsed) = PasswordHash::new(phc) else { return false };
    let matches = hasher().verify_password(password.as_bytes(), &parsed).is_ok();
    matches && stored.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_has_lengths_and_no_email() {
        assert_eq!(check("short", "a@b.c"), Err(PasswordError::TooShort));
        assert_eq!(check(&"x".repeat(129), "a@b.c"), Err(PasswordError::TooLong));
        assert_eq!(check("alice.smith-2024-Quartz", "Alice.Smith@example.com"), Err(PasswordError::ContainsEmail));
        // Guessable passwords are refused whatever their composition, and so are ones built from the email's parts.
        for weak in ["password1", "Passw0rd!", "qwertyuiop", "iloveyou2024", "abcd1234"] {
            assert!(
                matches!(check(weak, "a@b.c"), Err(PasswordError::TooWeak { score }) if score < MIN_SCORE),
                "{weak}"
            );
        }
        assert!(matches!(check("wonderlandbooks", "jo@wonderland-books.com"), Err(PasswordError::TooWeak { .. })));
        // Long passphrases pass without any composition rule; 128 characters is the limit, not 128 bytes.
        assert_eq!(check("correct horse battery staple", "a@b.c"), Ok(()));
        assert_eq!(
            check(&"é".repeat(64).chars().chain("zqjvk wmbr ghtp".chars()).collect::<String>(), "a@b.c"),
            Ok(())
        );
    }

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let first = hash("correct horse battery staple").unwrap();
        let second = hash("correct horse battery staple").unwrap();
        assert!(first.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{first}");
        assert_ne!(first, second);
        assert!(verify("correct horse battery staple", Some(&first)));
        assert!(!verify("correct horse battery stapler", Some(&first)));
        assert!(!verify("anything", None));
        assert!(!verify("anything", Some("not a hash")));
    }

    #[test]
    fn the_decoy_is_a_valid_hash_of_the_same_cost() {
        let parsed = PasswordHash::new(DECOY).unwrap();
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
        assert_eq!(parsed.params.get_str("m"), Some("19456"));
    }
}
