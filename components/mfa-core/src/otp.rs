//! One-time passwords: HOTP ([RFC 4226]) and TOTP ([RFC 6238]).
//!
//! Codes are computed by `totp-rs` (HMAC from the `hmac`, `sha1` and `sha2` crates); this module adds what a
//! service needs on top: parameter validation with typed errors, a verification window that compares every
//! candidate in constant time without stopping at the first match, and the matched step, so the caller can refuse
//! a step at or below the last one it accepted ([RFC 6238 §5.2]).
//!
//! [RFC 4226]: https://www.rfc-editor.org/rfc/rfc4226
//! [RFC 6238]: https://www.rfc-editor.org/rfc/rfc6238
//! [RFC 6238 §5.2]: https://www.rfc-editor.org/rfc/rfc6238#section-5.2

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use totp_rs::{Builder, Secret, Totp};

/// Shortest accepted secret: 128 bits ([RFC 4226 §4] R6).
///
/// [RFC 4226 §4]: https://www.rfc-editor.org/rfc/rfc4226#section-4
pub const MIN_SECRET_BYTES: usize = 16;
/// Longest accepted secret: 512 bits.
pub const MAX_SECRET_BYTES: usize = 64;
/// Widest TOTP window, in steps either side of now.
pub const MAX_WINDOW: u32 = 10;
/// Furthest HOTP look-ahead, in counters.
pub const MAX_LOOK_AHEAD: u32 = 100;
/// Shortest TOTP period in seconds.
pub const MIN_PERIOD: u32 = 15;
/// Longest TOTP period in seconds.
pub const MAX_PERIOD: u32 = 120;

/// The HMAC hash function a code is computed with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// HMAC-SHA-1, the default.
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

impl Algorithm {
    /// The name used in otpauth URIs (`SHA1`, `SHA256`, `SHA512`).
    pub fn uri_name(self) -> &'static str {
        match self {
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
            Self::Sha512 => "SHA512",
        }
    }

    /// Reads a URI algorithm name, in any case.
    pub fn from_uri_name(name: &str) -> Option<Self> {
        [Self::Sha1, Self::Sha256, Self::Sha512]
            .into_iter()
            .find(|algorithm| algorithm.uri_name().eq_ignore_ascii_case(name))
    }

    fn to_totp_rs(self) -> totp_rs::Algorithm {
        match self {
            Self::Sha1 => totp_rs::Algorithm::SHA1,
            Self::Sha256 => totp_rs::Algorithm::SHA256,
            Self::Sha512 => totp_rs::Algorithm::SHA512,
        }
    }
}

/// How TOTP codes are computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TotpParams {
    /// The HMAC hash function.
    pub algorithm: Algorithm,
    /// Digits per code: 6 or 8.
    pub digits: u8,
    /// Seconds per time step: 15 to 120.
    pub period: u32,
}

impl Default for TotpParams {
    /// SHA-1, 6 digits, 30 seconds: what every authenticator app expects.
    fn default() -> Self {
        Self { algorithm: Algorithm::Sha1, digits: 6, period: 30 }
    }
}

impl TotpParams {
    /// Checks digits and period.
    pub fn validate(&self) -> Result<(), OtpError> {
        validate_digits(self.digits)?;
        if !(MIN_PERIOD..=MAX_PERIOD).contains(&self.period) {
            return Err(OtpError::InvalidPeriod(self.period));
        }
        Ok(())
    }
}

/// Why a code could not be generated or checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OtpError {
    /// Digits other than 6 or 8.
    #[error("codes have 6 or 8 digits, not {0}")]
    InvalidDigits(u8),
    /// Period outside 15..=120 seconds.
    #[error("the period must be 15 to 120 seconds, not {0}")]
    InvalidPeriod(u32),
    /// Secret under 128 bits (length in bits).
    #[error("the secret has {0} bits; at least 128 are required")]
    SecretTooShort(u32),
    /// Secret over 512 bits (length in bits).
    #[error("the secret has {0} bits; at most 512 are allowed")]
    SecretTooLong(u32),
    /// Window or look-ahead too wide.
    #[error("a verification window of {0} is too wide")]
    WindowTooLarge(u32),
    /// The code is not the right number of digits.
    #[error("the code is not the expected number of digits")]
    MalformedCode,
}

/// The result of checking a TOTP code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TotpVerdict {
    /// Matches this step, later than the last accepted one.
    Accepted(u64),
    /// Matches this step, at or below the last accepted one: a replay.
    Replayed(u64),
    /// Matches no step in the window.
    Rejected,
}

/// The HOTP code for `counter` ([RFC 4226 §5.3](https://www.rfc-editor.org/rfc/rfc4226#section-5.3)).
pub fn hotp_generate(secret: &[u8], counter: u64, algorithm: Algorithm, digits: u8) -> Result<String, OtpError> {
    let generator = hotp_generator(secret, algorithm, digits)?;
    // A one-second step never overflows, so the code always exists.
    Ok(generator.code_at(counter).unwrap_or_default())
}

/// Checks an HOTP code against counters `counter ..= counter + look_ahead`, returning the lowest match
/// ([RFC 4226 §7.2](https://www.rfc-editor.org/rfc/rfc4226#section-7.2)). Every candidate is computed and compared
/// in constant time.
pub fn hotp_verify(
    secret: &[u8],
    code: &str,
    counter: u64,
    look_ahead: u32,
    algorithm: Algorithm,
    digits: u8,
) -> Result<Option<u64>, OtpError> {
    if look_ahead > MAX_LOOK_AHEAD {
        return Err(OtpError::WindowTooLarge(look_ahead));
    }
    let generator = hotp_generator(secret, algorithm, digits)?;
    let code = normalize_code(code, digits)?;
    let last = counter.saturating_add(u64::from(look_ahead));
    let mut found = Choice::from(0);
    let mut matched = 0u64;
    for candidate in counter..=last {
        let is_match = generator.matches(candidate, &code);
        // Keep the first (lowest) match without branching on the comparison.
        matched.conditional_assign(&candidate, is_match & !found);
        found |= is_match;
    }
    Ok(bool::from(found).then_some(matched))
}

/// The time step that `now` falls in: `floor(now / period)` ([RFC 6238 §4.2]).
///
/// [RFC 6238 §4.2]: https://www.rfc-editor.org/rfc/rfc6238#section-4.2
pub fn totp_step(params: &TotpParams, now: u64) -> Result<u64, OtpError> {
    params.validate()?;
    Ok(now / u64::from(params.period))
}

/// The TOTP code at Unix time `now` ([RFC 6238 §4](https://www.rfc-editor.org/rfc/rfc6238#section-4)).
pub fn totp_generate(secret: &[u8], params: &TotpParams, now: u64) -> Result<String, OtpError> {
    let generator = totp_generator(secret, params)?;
    Ok(generator.totp.generate(now).to_string())
}

/// Checks a TOTP code against every step within `window` steps of `now`, in constant time per candidate and
/// without stopping at the first match. The lowest matching step above `last_accepted_step` is accepted; a match
/// only at or below it is a replay.
pub fn totp_verify(
    secret: &[u8],
    params: &TotpParams,
    code: &str,
    now: u64,
    window: u32,
    last_accepted_step: Option<u64>,
) -> Result<TotpVerdict, OtpError> {
    if window > MAX_WINDOW {
        return Err(OtpError::WindowTooLarge(window));
    }
    let generator = totp_generator(secret, params)?;
    let code = normalize_code(code, params.digits)?;
    let current = totp_step(params, now)?;
    let first = current.saturating_sub(u64::from(window));
    let last = current.saturating_add(u64::from(window));

    let mut accepted = Choice::from(0);
    let mut accepted_step = 0u64;
    let mut replayed = Choice::from(0);
    let mut replayed_step = 0u64;
    for step in first..=last {
        let is_match = generator.matches(step, &code);
        let is_fresh = Choice::from(u8::from(last_accepted_step.is_none_or(|last| step > last)));
        accepted_step.conditional_assign(&step, is_match & is_fresh & !accepted);
        accepted |= is_match & is_fresh;
        replayed_step.conditional_assign(&step, is_match & !is_fresh);
        replayed |= is_match & !is_fresh;
    }
    Ok(if bool::from(accepted) {
        TotpVerdict::Accepted(accepted_step)
    } else if bool::from(replayed) {
        TotpVerdict::Replayed(replayed_step)
    } else {
        TotpVerdict::Rejected
    })
}

/// Computes the code for one counter or time step.
struct Generator {
    totp: Totp,
    step: u64,
}

impl Generator {
    /// The code for counter (or time step) `counter`; none for a step whose start time does not fit in a u64.
    fn code_at(&self, counter: u64) -> Option<String> {
        let time = counter.checked_mul(self.step)?;
        Some(self.totp.generate(time).to_string())
    }

    /// Whether `code` is the code for `counter`, compared in constant time; a step that cannot exist never matches.
    fn matches(&self, counter: u64, code: &str) -> Choice {
        match self.code_at(counter) {
            Some(expected) => expected.as_bytes().ct_eq(code.as_bytes()),
            None => Choice::from(0),
        }
    }
}

/// HOTP is TOTP with a one-second step where the "time" is the counter (RFC 6238 §4.2: T = floor(time / X)).
fn hotp_generator(secret: &[u8], algorithm: Algorithm, digits: u8) -> Result<Generator, OtpError> {
    validate_digits(digits)?;
    generator(secret, algorithm, digits, 1)
}

fn totp_generator(secret: &[u8], params: &TotpParams) -> Result<Generator, OtpError> {
    params.validate()?;
    generator(secret, params.algorithm, params.digits, u64::from(params.period))
}

fn generator(secret: &[u8], algorithm: Algorithm, digits: u8, step: u64) -> Result<Generator, OtpError> {
    validate_secret(secret)?;
    // Digits, secret length and step are validated above, which is everything `build` would check; building
    // unchecked spares a second validation that could only agree.
    let totp = Builder::new()
        .with_algorithm(algorithm.to_totp_rs())
        .with_digits(digits)
        .with_skew(0)
        .with_step_duration(step)
        .with_secret(Secret::new(secret.to_vec().into_boxed_slice()))
        .build_noncompliant();
    Ok(Generator { totp, step })
}

/// Checks a secret's length.
pub fn validate_secret(secret: &[u8]) -> Result<(), OtpError> {
    let bits = u32::try_from(secret.len().saturating_mul(8)).unwrap_or(u32::MAX);
    if secret.len() < MIN_SECRET_BYTES {
        Err(OtpError::SecretTooShort(bits))
    } else if secret.len() > MAX_SECRET_BYTES {
        Err(OtpError::SecretTooLong(bits))
    } else {
        Ok(())
    }
}

fn validate_digits(digits: u8) -> Result<(), OtpError> {
    match digits {
        6 | 8 => Ok(()),
        other => Err(OtpError::InvalidDigits(other)),
    }
}

/// The code without spaces, if it is exactly `digits` ASCII digits.
fn normalize_code(code: &str, digits: u8) -> Result<String, OtpError> {
    let cleaned: String = code.chars().filter(|c| *c != ' ').collect();
    if cleaned.len() == usize::from(digits) && cleaned.bytes().all(|b| b.is_ascii_digit()) {
        Ok(cleaned)
    } else {
        Err(OtpError::MalformedCode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED_SHA1: &[u8] = b"12345678901234567890";
    const SEED_SHA256: &[u8] = b"12345678901234567890123456789012";
    const SEED_SHA512: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

    fn params(algorithm: Algorithm, digits: u8) -> TotpParams {
        TotpParams { algorithm, digits, period: 30 }
    }

    /// Generates and verifies `expected` at `time`, as kanidm's `do_test` does.
    fn do_test(secret: &[u8], algorithm: Algorithm, time: u64, expected: &str) {
        let p = params(algorithm, 8);
        assert_eq!(totp_generate(secret, &p, time).as_deref(), Ok(expected), "{algorithm:?} at {time}");
        let step = time / 30;
        assert_eq!(totp_verify(secret, &p, expected, time, 0, None), Ok(TotpVerdict::Accepted(step)));
    }

    #[test]
    fn rfc4226_appendix_d_vectors() {
        let expected =
            ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"];
        for (counter, code) in (0u64..).zip(expected) {
            assert_eq!(hotp_generate(SEED_SHA1, counter, Algorithm::Sha1, 6).as_deref(), Ok(code));
            assert_eq!(hotp_verify(SEED_SHA1, code, counter, 0, Algorithm::Sha1, 6), Ok(Some(counter)));
        }
    }

    /// RFC 6238 Appendix B, with the errata's seeds (20, 32 and 64 bytes for SHA1, SHA256 and SHA512).
    #[test]
    fn rfc6238_appendix_b_vectors() {
        let vectors: [(u64, &str, &str, &str); 6] = [
            (59, "94287082", "46119246", "90693936"),
            (1_111_111_109, "07081804", "68084774", "25091201"),
            (1_111_111_111, "14050471", "67062674", "99943326"),
            (1_234_567_890, "89005924", "91819424", "93441116"),
            (2_000_000_000, "69279037", "90698825", "38618901"),
            (20_000_000_000, "65353130", "77737706", "47863826"),
        ];
        for (time, sha1, sha256, sha512) in vectors {
            do_test(SEED_SHA1, Algorithm::Sha1, time, sha1);
            do_test(SEED_SHA256, Algorithm::Sha256, time, sha256);
            do_test(SEED_SHA512, Algorithm::Sha512, time, sha512);
        }
    }

    #[test]
    fn six_digit_codes_are_the_last_six_of_eight() {
        let code = totp_generate(SEED_SHA1, &params(Algorithm::Sha1, 6), 59);
        assert_eq!(code.as_deref(), Ok("287082"));
    }

    #[test]
    fn window_accepts_one_step_either_side_and_refuses_two() {
        let p = TotpParams::default();
        let now = 1_700_000_015;
        let current = now / 30;
        for (offset, expected) in [
            (-2i64, TotpVerdict::Rejected),
            (-1, TotpVerdict::Accepted(current - 1)),
            (0, TotpVerdict::Accepted(current)),
            (1, TotpVerdict::Accepted(current + 1)),
            (2, TotpVerdict::Rejected),
        ] {
            let step = current.checked_add_signed(offset).unwrap_or_default();
            let code = totp_generate(SEED_SHA1, &p, step * 30).unwrap_or_default();
            assert_eq!(totp_verify(SEED_SHA1, &p, &code, now, 1, None), Ok(expected), "offset {offset}");
        }
    }

    #[test]
    fn window_edges_follow_step_boundaries() {
        let p = TotpParams::default();
        let code = totp_generate(SEED_SHA1, &p, 3000).unwrap_or_default(); // step 100
        // The last second of step 101 still sees step 100 with a window of 1; the first second of 102 does not.
        assert_eq!(totp_verify(SEED_SHA1, &p, &code, 3059, 1, None), Ok(TotpVerdict::Accepted(100)));
        assert_eq!(totp_verify(SEED_SHA1, &p, &code, 3060, 1, None), Ok(TotpVerdict::Rejected));
        assert_eq!(totp_verify(SEED_SHA1, &p, &code, 2970, 1, None), Ok(TotpVerdict::Accepted(100)));
        assert_eq!(totp_verify(SEED_SHA1, &p, &code, 2969, 1, None), Ok(TotpVerdict::Rejected));
    }

    #[test]
    fn replay_at_or_below_last_accepted_step_is_refused() {
        let p = TotpParams::default();
        let now = 1_700_000_000;
        let step = now / 30;
        let code = totp_generate(SEED_SHA1, &p, now).unwrap_or_default();
        assert_eq!(totp_verify(SEED_SHA1, &p, &code, now, 1, Some(step - 1)), Ok(TotpVerdict::Accepted(step)));
        assert_eq!(totp_verify(SEED_SHA1, &p, &code, now, 1, Some(step)), Ok(TotpVerdict::Replayed(step)));
        assert_eq!(totp_verify(SEED_SHA1, &p, &code, now, 1, Some(step + 1)), Ok(TotpVerdict::Replayed(step)));
        // The same code is still a replay 30 seconds later, inside the window.
        assert_eq!(totp_verify(SEED_SHA1, &p, &code, now + 30, 1, Some(step)), Ok(TotpVerdict::Replayed(step)));
    }

    #[test]
    fn codes_with_spaces_are_read_and_bad_codes_are_typed_errors() {
        let p = TotpParams::default();
        let code = totp_generate(SEED_SHA1, &p, 59).unwrap_or_default();
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(totp_verify(SEED_SHA1, &p, &spaced, 59, 1, None), Ok(TotpVerdict::Accepted(1)));
        for bad in ["", "12345", "1234567", "12345a", "１２３４５６", "123-456"] {
            assert_eq!(totp_verify(SEED_SHA1, &p, bad, 59, 1, None), Err(OtpError::MalformedCode), "{bad:?}");
        }
    }

    #[test]
    fn parameters_are_validated() {
        let short = [0u8; 15];
        let long = [0u8; 65];
        assert_eq!(totp_generate(&short, &TotpParams::default(), 0), Err(OtpError::SecretTooShort(120)));
        assert_eq!(totp_generate(&long, &TotpParams::default(), 0), Err(OtpError::SecretTooLong(520)));
        assert_eq!(hotp_generate(SEED_SHA1, 0, Algorithm::Sha1, 7), Err(OtpError::InvalidDigits(7)));
        let p = TotpParams { period: 14, ..TotpParams::default() };
        assert_eq!(totp_generate(SEED_SHA1, &p, 0), Err(OtpError::InvalidPeriod(14)));
        let p = TotpParams { period: 121, ..TotpParams::default() };
        assert_eq!(totp_step(&p, 0), Err(OtpError::InvalidPeriod(121)));
        assert_eq!(
            totp_verify(SEED_SHA1, &TotpParams::default(), "123456", 0, 11, None),
            Err(OtpError::WindowTooLarge(11))
        );
        assert_eq!(hotp_verify(SEED_SHA1, "123456", 0, 101, Algorithm::Sha1, 6), Err(OtpError::WindowTooLarge(101)));
        assert_eq!(totp_step(&TotpParams { period: 15, ..TotpParams::default() }, 44), Ok(2));
    }

    #[test]
    fn hotp_look_ahead_finds_the_lowest_matching_counter() {
        let code = hotp_generate(SEED_SHA1, 7, Algorithm::Sha1, 6).unwrap_or_default();
        assert_eq!(hotp_verify(SEED_SHA1, &code, 3, 4, Algorithm::Sha1, 6), Ok(Some(7)));
        assert_eq!(hotp_verify(SEED_SHA1, &code, 3, 3, Algorithm::Sha1, 6), Ok(None));
        assert_eq!(hotp_verify(SEED_SHA1, &code, 8, 10, Algorithm::Sha1, 6), Ok(None));
    }

    #[test]
    fn extreme_times_do_not_panic() {
        let p = TotpParams::default();
        assert!(totp_generate(SEED_SHA1, &p, u64::MAX).is_ok());
        assert!(totp_verify(SEED_SHA1, &p, "123456", u64::MAX, MAX_WINDOW, Some(u64::MAX)).is_ok());
        assert!(totp_verify(SEED_SHA1, &p, "123456", 0, MAX_WINDOW, None).is_ok());
        assert!(hotp_verify(SEED_SHA1, "123456", u64::MAX, MAX_LOOK_AHEAD, Algorithm::Sha1, 6).is_ok());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_codes_never_panic(code in ".{0,40}", now in proptest::prelude::any::<u64>()) {
            let _ = totp_verify(SEED_SHA1, &TotpParams::default(), &code, now, 1, None);
        }

        #[test]
        fn a_generated_code_always_verifies_at_its_time(now in 0u64..=u64::MAX / 2, digits in proptest::sample::select(vec![6u8, 8])) {
            let p = TotpParams { digits, ..TotpParams::default() };
            let code = totp_generate(SEED_SHA256, &p, now).unwrap_or_default();
            proptest::prop_assert_eq!(totp_verify(SEED_SHA256, &p, &code, now, 1, None), Ok(TotpVerdict::Accepted(now / 30)));
        }
    }
}
