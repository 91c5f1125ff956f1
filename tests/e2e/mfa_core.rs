//! `mfa:core` (world `mfa-core`): every export of every interface, its documented values, and each error case.

use crate::support::{Mismatches, check};
use anyhow::Result;
use hmac::{KeyInit, Mac};
use mfa_e2e::backup_codes::{BackupCodeError, HashedCode};
use mfa_e2e::numeric_codes::NumericCodeError;
use mfa_e2e::otp::{Algorithm, OtpError, TotpParams, TotpVerdict};
use mfa_e2e::otpauth::{OtpauthKey, UriError};
use mfa_e2e::phone::{PhoneError, PhoneNumber};
use mfa_e2e::qr::QrError;
use mfa_e2e::secrets::{Base32Error, SecretError};
use mfa_e2e::{HostState, MfaCore};
use proptest::prelude::*;
use wasmtime::Store;

/// RFC 4226 Appendix D and RFC 6238 Appendix B secret for HMAC-SHA-1 (20 bytes).
const SEED_SHA1: &[u8] = b"12345678901234567890";
/// RFC 6238 Appendix B secret for HMAC-SHA-256 (32 bytes).
const SEED_SHA256: &[u8] = b"12345678901234567890123456789012";
/// RFC 6238 Appendix B secret for HMAC-SHA-512 (64 bytes).
const SEED_SHA512: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";
/// Base32 of `SEED_SHA1`.
const SEED_SHA1_B32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

fn sha1_6() -> TotpParams {
    TotpParams { algorithm: Algorithm::Sha1, digits: 6, period: 30 }
}

fn params(algorithm: Algorithm, digits: u8, period: u32) -> TotpParams {
    TotpParams { algorithm, digits, period }
}

fn instance() -> Result<(Store<HostState>, MfaCore)> {
    mfa_e2e::mfa_core()
}

// ---------------------------------------------------------------------------------------------------------------
// otp
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn default_totp_params_are_sha1_6_digits_30_seconds() -> Result<()> {
    let (mut store, core) = instance()?;
    assert_eq!(core.mfa_core_otp().call_default_totp_params(&mut store)?, sha1_6());
    Ok(())
}

#[test]
fn hotp_generate_matches_rfc4226_appendix_d() -> Result<()> {
    let (mut store, core) = instance()?;
    let expected = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"];
    let mut m = Mismatches::default();
    for (counter, code) in (0u64..).zip(expected) {
        let got = core.mfa_core_otp().call_hotp_generate(&mut store, SEED_SHA1, counter, Algorithm::Sha1, 6)?;
        check!(m, got, Ok(code.to_string()), "HOTP counter {counter}");
    }
    m.finish();
    Ok(())
}

#[test]
fn hotp_generate_8_digits_keeps_leading_digits_of_the_truncation() -> Result<()> {
    // RFC 4226 Appendix D lists the truncated values 1284755224 and 1094287082 for counters 0 and 1.
    let (mut store, core) = instance()?;
    let otp = core.mfa_core_otp();
    assert_eq!(otp.call_hotp_generate(&mut store, SEED_SHA1, 0, Algorithm::Sha1, 8)?, Ok("84755224".to_string()));
    assert_eq!(otp.call_hotp_generate(&mut store, SEED_SHA1, 1, Algorithm::Sha1, 8)?, Ok("94287082".to_string()));
    Ok(())
}

#[test]
fn hotp_generate_errors() -> Result<()> {
    let (mut store, core) = instance()?;
    let otp = core.mfa_core_otp();
    let mut m = Mismatches::default();
    for digits in [0u8, 5, 7, 9, 10] {
        check!(
            m,
            otp.call_hotp_generate(&mut store, SEED_SHA1, 0, Algorithm::Sha1, digits)?,
            Err(OtpError::InvalidDigits(digits))
        );
    }
    assert_eq!(
        otp.call_hotp_generate(&mut store, &[7; 15], 0, Algorithm::Sha1, 6)?,
        Err(OtpError::SecretTooShort(120))
    );
    assert_eq!(otp.call_hotp_generate(&mut store, &[], 0, Algorithm::Sha1, 6)?, Err(OtpError::SecretTooShort(0)));
    assert_eq!(otp.call_hotp_generate(&mut store, &[7; 65], 0, Algorithm::Sha1, 6)?, Err(OtpError::SecretTooLong(520)));
    // The bounds themselves are allowed (128 and 512 bits).
    assert!(otp.call_hotp_generate(&mut store, &[7; 16], 0, Algorithm::Sha1, 6)?.is_ok());
    assert!(otp.call_hotp_generate(&mut store, &[7; 64], 0, Algorithm::Sha512, 6)?.is_ok());
    m.finish();
    Ok(())
}

#[test]
fn hotp_verify_finds_the_counter_within_the_look_ahead() -> Result<()> {
    let (mut store, core) = instance()?;
    let otp = core.mfa_core_otp();
    // 254676 is counter 5.
    assert_eq!(otp.call_hotp_verify(&mut store, SEED_SHA1, "254676", 0, 5, Algorithm::Sha1, 6)?, Ok(Some(5)));
    assert_eq!(otp.call_hotp_verify(&mut store, SEED_SHA1, "254676", 5, 0, Algorithm::Sha1, 6)?, Ok(Some(5)));
    assert_eq!(otp.call_hotp_verify(&mut store, SEED_SHA1, "254676", 0, 4, Algorithm::Sha1, 6)?, Ok(None));
    assert_eq!(otp.call_hotp_verify(&mut store, SEED_SHA1, "254676", 6, 100, Algorithm::Sha1, 6)?, Ok(None));
    // Spaces are ignored.
    assert_eq!(otp.call_hotp_verify(&mut store, SEED_SHA1, "755 224", 0, 0, Algorithm::Sha1, 6)?, Ok(Some(0)));
    // 8 digits.
    assert_eq!(otp.call_hotp_verify(&mut store, SEED_SHA1, "94287082", 0, 3, Algorithm::Sha1, 8)?, Ok(Some(1)));
    // The wrong algorithm does not match.
    assert_eq!(otp.call_hotp_verify(&mut store, SEED_SHA1, "755224", 0, 0, Algorithm::Sha256, 6)?, Ok(None));
    Ok(())
}

#[test]
fn hotp_verify_near_the_end_of_the_counter_range_does_not_trap() -> Result<()> {
    let (mut store, core) = instance()?;
    let otp = core.mfa_core_otp();
    let last = otp.call_hotp_generate(&mut store, SEED_SHA1, u64::MAX, Algorithm::Sha1, 6)?.unwrap();
    assert_eq!(
        otp.call_hotp_verify(&mut store, SEED_SHA1, &last, u64::MAX - 2, 5, Algorithm::Sha1, 6)?,
        Ok(Some(u64::MAX))
    );
    Ok(())
}

#[test]
fn hotp_verify_errors() -> Result<()> {
    let (mut store, core) = instance()?;
    let otp = core.mfa_core_otp();
    assert!(otp.call_hotp_verify(&mut store, SEED_SHA1, "755224", 0, 100, Algorithm::Sha1, 6)?.is_ok());
    assert_eq!(
        otp.call_hotp_verify(&mut store, SEED_SHA1, "755224", 0, 101, Algorithm::Sha1, 6)?,
        Err(OtpError::WindowTooLarge(101))
    );
    let mut m = Mismatches::default();
    for bad in ["75522", "7552244", "75522a", "", "755-224", "７５５２２４"] {
        check!(
            m,
            otp.call_hotp_verify(&mut store, SEED_SHA1, bad, 0, 1, Algorithm::Sha1, 6)?,
            Err(OtpError::MalformedCode),
            "code {bad:?}"
        );
    }
    assert_eq!(
        otp.call_hotp_verify(&mut store, SEED_SHA1, "755224", 0, 1, Algorithm::Sha1, 7)?,
        Err(OtpError::InvalidDigits(7))
    );
    assert_eq!(
        otp.call_hotp_verify(&mut store, &[1; 10], "755224", 0, 1, Algorithm::Sha1, 6)?,
        Err(OtpError::SecretTooShort(80))
    );
    assert_eq!(
        otp.call_hotp_verify(&mut store, &[1; 100], "755224", 0, 1, Algorithm::Sha1, 6)?,
        Err(OtpError::SecretTooLong(800))
    );
    m.finish();
    Ok(())
}

/// RFC 6238 Appendix B: (time, step, SHA1, SHA256, SHA512).
const RFC6238: [(u64, u64, &str, &str, &str); 6] = [
    (59, 1, "94287082", "46119246", "90693936"),
    (1_111_111_109, 0x0235_23EC, "07081804", "68084774", "25091201"),
    (1_111_111_111, 0x0235_23ED, "14050471", "67062674", "99943326"),
    (1_234_567_890, 0x0273_EF07, "89005924", "91819424", "93441116"),
    (2_000_000_000, 0x03F9_40AA, "69279037", "90698825", "38618901"),
    (20_000_000_000, 0x27BC_86AA, "65353130", "77737706", "47863826"),
];

#[test]
fn totp_generate_matches_rfc6238_appendix_b() -> Result<()> {
    let (mut store, core) = instance()?;
    let otp = core.mfa_core_otp();
    let mut m = Mismatches::default();
    for (time, _, sha1, sha256, sha512) in RFC6238 {
        for (algorithm, seed, code) in [
            (Algorithm::Sha1, SEED_SHA1, sha1),
            (Algorithm::Sha256, SEED_SHA256, sha256),
            (Algorithm::Sha512, SEED_SHA512, sha512),
        ] {
            let got = otp.call_totp_generate(&mut store, seed, params(algorithm, 8, 30), time)?;
            check!(m, got, Ok(code.to_string()), "{algorithm:?} at {time}");
        }
    }
    m.finish();
    Ok(())
}

#[test]
fn totp_verify_accepts_rfc6238_appendix_b_codes_at_their_step() -> Result<()> {
    let (mut store, core) = instance()?;
    let otp = core.mfa_core_otp();
    let mut m = Mismatches::default();
    for (time, step, sha1, sha256, sha512) in RFC6238 {
        for (algorithm, seed, code) in [
            (Algorithm::Sha1, SEED_SHA1, sha1),
            (Algorithm::Sha256, SEED_SHA256, sha256),
            (Algorithm::Sha512, SEED_SHA512, sha512),
        ] {
            let got = otp.call_totp_verify(&mut store, seed, params(algorithm, 8, 30), code, time, 0, None)?;
            check!(m, got, Ok(TotpVerdict::Accepted(step)), "{algorithm:?} at {time}");
        }
    }
    m.finish();
    Ok(())
}

#[test]
fn totp_step_is_floor_of_time_over_period() -> Result<()> {
    let (mut store, core) = instance()?;
    let otp = core.mfa_core_otp();
    let mut m = Mismatches::default();
    for (time, step, ..) in RFC6238 {
        check!(m, otp.call_totp_step(&mut store, sha1_6(), time)?, Ok(step), "time {time}");
    }
    assert_eq!(otp.call_totp_step(&mut store, sha1_6(), 0)?, Ok(0));
    assert_eq!(otp.call_totp_step(&mut store, sha1_6(), 29)?, Ok(0));
    assert_eq!(otp.call_totp_step(&mut store, sha1_6(), 30)?, Ok(1));
    assert_eq!(otp.call_totp_step(&mut store, params(Algorithm::Sha1, 6, 15), 44)?, Ok(2));
    assert_eq!(otp.call_totp_step(&mut store, params(Algorithm::Sha256, 8, 120), 240)?, Ok(2));
    assert_eq!(otp.call_totp_step(&mut store, sha1_6(), u64::MAX)?, Ok(u64::MAX / 30));
    m.finish();
    Ok(())
}

#[test]
fn totp_step_and_generate_errors() -> Result<()> {
    let (mut store, core) = instance()?;
    let otp = core.mfa_core_otp();
    let mut m = Mismatches::default();
    for period in [0u32, 14, 121, u32::MAX] {
        let p = params(Algorithm::Sha1, 6, period);
        check!(m, otp.call_totp_step(&mut store, p, 100)?, Err(OtpError::InvalidPeriod(period)));
        check!(m, otp.call_totp_generate(&mut store, SEED_SHA1, p, 100)?, Err(OtpError::InvalidPeriod(period)));
    }
    for digits in [0u8, 4, 7, 9] {
        let p = params(Algorithm::Sha1, digits, 30);
        check!(m, otp.call_totp_step(&mut store, p, 100)?, Err(OtpError::InvalidDigits(digits)));
        check!(m, otp.call_totp_generate(&mut store, SEED_SHA1, p, 100)?, Err(OtpError::InvalidDigits(digits)));
    }
    assert_eq!(otp.call_totp_generate(&mut store, &[3; 12], sha1_6(), 100)?, Err(OtpError::SecretTooShort(96)));
    assert_eq!(otp.call_totp_generate(&mut store, &[3; 72], sha1_6(), 100)?, Err(OtpError::SecretTooLong(576)));
    m.finish();
    Ok(())
}

/// A time in the middle of a 30-second step, and the codes of the steps around it.
struct Window {
    now: u64,
    step: u64,
    /// Codes for steps `step - 2 ..= step + 2`, index 0 being `step - 2`.
    codes: Vec<String>,
}

fn window(store: &mut Store<HostState>, core: &MfaCore) -> Result<Window> {
    let now = 1_700_000_013;
    let step = now / 30;
    let mut codes = Vec::new();
    for k in 0..5u64 {
        let at = now + k * 30 - 60;
        codes.push(core.mfa_core_otp().call_totp_generate(&mut *store, SEED_SHA1, sha1_6(), at)?.unwrap());
    }
    // The edge tests below only mean something if the five codes differ.
    let mut unique = codes.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 5, "codes around {now} collide: {codes:?}");
    Ok(Window { now, step, codes })
}

#[test]
fn totp_verify_window_edges() -> Result<()> {
    let (mut store, core) = instance()?;
    let w = window(&mut store, &core)?;
    let otp = core.mfa_core_otp();
    let verify = |store: &mut Store<HostState>, code: &str, window: u32| {
        otp.call_totp_verify(store, SEED_SHA1, sha1_6(), code, w.now, window, None)
    };
    // window 1: -1, 0, +1 accepted, -2 and +2 rejected.
    assert_eq!(verify(&mut store, &w.codes[0], 1)?, Ok(TotpVerdict::Rejected), "step -2");
    assert_eq!(verify(&mut store, &w.codes[1], 1)?, Ok(TotpVerdict::Accepted(w.step - 1)), "step -1");
    assert_eq!(verify(&mut store, &w.codes[2], 1)?, Ok(TotpVerdict::Accepted(w.step)), "step 0");
    assert_eq!(verify(&mut store, &w.codes[3], 1)?, Ok(TotpVerdict::Accepted(w.step + 1)), "step +1");
    assert_eq!(verify(&mut store, &w.codes[4], 1)?, Ok(TotpVerdict::Rejected), "step +2");
    // window 0: only the current step.
    assert_eq!(verify(&mut store, &w.codes[1], 0)?, Ok(TotpVerdict::Rejected));
    assert_eq!(verify(&mut store, &w.codes[2], 0)?, Ok(TotpVerdict::Accepted(w.step)));
    assert_eq!(verify(&mut store, &w.codes[3], 0)?, Ok(TotpVerdict::Rejected));
    // window 2: the outer steps too.
    assert_eq!(verify(&mut store, &w.codes[0], 2)?, Ok(TotpVerdict::Accepted(w.step - 2)));
    assert_eq!(verify(&mut store, &w.codes[4], 2)?, Ok(TotpVerdict::Accepted(w.step + 2)));
    // A wrong code.
    let wrong = if w.codes.iter().any(|c| c == "000000") { "999999" } else { "000000" };
    assert_eq!(verify(&mut store, wrong, 2)?, Ok(TotpVerdict::Rejected));
    // Spaces in the code are ignored.
    let spaced = format!("{} {}", &w.codes[2][..3], &w.codes[2][3..]);
    assert_eq!(verify(&mut store, &spaced, 1)?, Ok(TotpVerdict::Accepted(w.step)));
    Ok(())
}

#[test]
fn totp_verify_refuses_replays_at_or_below_the_last_accepted_step() -> Result<()> {
    let (mut store, core) = instance()?;
    let w = window(&mut store, &core)?;
    let otp = core.mfa_core_otp();
    let verify = |store: &mut Store<HostState>, code: &str, last: Option<u64>| {
        otp.call_totp_verify(store, SEED_SHA1, sha1_6(), code, w.now, 1, last)
    };
    // The same step again.
    assert_eq!(verify(&mut store, &w.codes[2], Some(w.step))?, Ok(TotpVerdict::Replayed(w.step)));
    // An earlier step than the last accepted one.
    assert_eq!(verify(&mut store, &w.codes[1], Some(w.step))?, Ok(TotpVerdict::Replayed(w.step - 1)));
    assert_eq!(verify(&mut store, &w.codes[2], Some(w.step + 1))?, Ok(TotpVerdict::Replayed(w.step)));
    // A later step is fine.
    assert_eq!(verify(&mut store, &w.codes[3], Some(w.step))?, Ok(TotpVerdict::Accepted(w.step + 1)));
    assert_eq!(verify(&mut store, &w.codes[2], Some(w.step - 1))?, Ok(TotpVerdict::Accepted(w.step)));
    assert_eq!(verify(&mut store, &w.codes[2], Some(0))?, Ok(TotpVerdict::Accepted(w.step)));
    // Replay does not turn a non-matching code into anything but rejected.
    assert_eq!(verify(&mut store, &w.codes[4], Some(w.step))?, Ok(TotpVerdict::Rejected));
    Ok(())
}

#[test]
fn totp_verify_at_the_start_of_time_does_not_underflow() -> Result<()> {
    let (mut store, core) = instance()?;
    let otp = core.mfa_core_otp();
    let code0 = otp.call_totp_generate(&mut store, SEED_SHA1, sha1_6(), 0)?.unwrap();
    let code1 = otp.call_totp_generate(&mut store, SEED_SHA1, sha1_6(), 30)?.unwrap();
    assert_eq!(
        otp.call_totp_verify(&mut store, SEED_SHA1, sha1_6(), &code0, 5, 10, None)?,
        Ok(TotpVerdict::Accepted(0))
    );
    assert_eq!(
        otp.call_totp_verify(&mut store, SEED_SHA1, sha1_6(), &code1, 5, 1, None)?,
        Ok(TotpVerdict::Accepted(1))
    );
    Ok(())
}

#[test]
fn totp_verify_with_sha256_8_digits_and_60_second_steps() -> Result<()> {
    let (mut store, core) = instance()?;
    let otp = core.mfa_core_otp();
    let p = params(Algorithm::Sha256, 8, 60);
    let code = otp.call_totp_generate(&mut store, SEED_SHA256, p, 6_000)?.unwrap();
    assert_eq!(code.len(), 8);
    assert_eq!(
        otp.call_totp_verify(&mut store, SEED_SHA256, p, &code, 6_059, 0, None)?,
        Ok(TotpVerdict::Accepted(100))
    );
    assert_eq!(otp.call_totp_verify(&mut store, SEED_SHA256, p, &code, 6_060, 0, None)?, Ok(TotpVerdict::Rejected));
    assert_eq!(
        otp.call_totp_verify(&mut store, SEED_SHA256, p, &code, 6_060, 1, Some(100))?,
        Ok(TotpVerdict::Replayed(100))
    );
    Ok(())
}

#[test]
fn totp_verify_errors() -> Result<()> {
    let (mut store, core) = instance()?;
    let otp = core.mfa_core_otp();
    let ok = otp.call_totp_verify(&mut store, SEED_SHA1, sha1_6(), "123456", 1000, 10, None)?;
    assert!(ok.is_ok(), "window 10 is allowed: {ok:?}");
    assert_eq!(
        otp.call_totp_verify(&mut store, SEED_SHA1, sha1_6(), "123456", 1000, 11, None)?,
        Err(OtpError::WindowTooLarge(11))
    );
    assert_eq!(
        otp.call_totp_verify(&mut store, SEED_SHA1, sha1_6(), "123456", 1000, u32::MAX, None)?,
        Err(OtpError::WindowTooLarge(u32::MAX))
    );
    let mut m = Mismatches::default();
    for bad in ["12345", "1234567", "12345a", "", "abcdef", "12-3456"] {
        check!(
            m,
            otp.call_totp_verify(&mut store, SEED_SHA1, sha1_6(), bad, 1000, 1, None)?,
            Err(OtpError::MalformedCode),
            "code {bad:?}"
        );
    }
    // A 6-digit code checked with 8-digit parameters is malformed.
    assert_eq!(
        otp.call_totp_verify(&mut store, SEED_SHA1, params(Algorithm::Sha1, 8, 30), "123456", 1000, 1, None)?,
        Err(OtpError::MalformedCode)
    );
    assert_eq!(
        otp.call_totp_verify(&mut store, SEED_SHA1, params(Algorithm::Sha1, 6, 10), "123456", 1000, 1, None)?,
        Err(OtpError::InvalidPeriod(10))
    );
    assert_eq!(
        otp.call_totp_verify(&mut store, SEED_SHA1, params(Algorithm::Sha1, 5, 30), "12345", 1000, 1, None)?,
        Err(OtpError::InvalidDigits(5))
    );
    assert_eq!(
        otp.call_totp_verify(&mut store, &[0; 8], sha1_6(), "123456", 1000, 1, None)?,
        Err(OtpError::SecretTooShort(64))
    );
    assert_eq!(
        otp.call_totp_verify(&mut store, &[0; 128], sha1_6(), "123456", 1000, 1, None)?,
        Err(OtpError::SecretTooLong(1024))
    );
    m.finish();
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// secrets
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn generate_secret_sizes_and_randomness() -> Result<()> {
    let (mut store, core) = instance()?;
    let secrets = core.mfa_core_secrets();
    let mut m = Mismatches::default();
    for bits in [128u32, 136, 160, 256, 512] {
        let secret = secrets.call_generate_secret(&mut store, bits)?.unwrap();
        check!(m, secret.len() * 8, bits as usize, "{bits} bits");
    }
    let a = secrets.call_generate_secret(&mut store, 160)?.unwrap();
    let b = secrets.call_generate_secret(&mut store, 160)?.unwrap();
    assert_ne!(a, b, "two secrets from the secure random source are equal");
    assert_ne!(a, vec![0; 20]);
    m.finish();
    Ok(())
}

#[test]
fn generate_secret_errors() -> Result<()> {
    let (mut store, core) = instance()?;
    let mut m = Mismatches::default();
    for bits in [0u32, 8, 120, 127, 129, 130, 159, 513, 520, 1024, u32::MAX] {
        check!(
            m,
            core.mfa_core_secrets().call_generate_secret(&mut store, bits)?,
            Err(SecretError::InvalidSize(bits)),
            "{bits} bits"
        );
    }
    m.finish();
    Ok(())
}

#[test]
fn encode_base32_matches_rfc4648_vectors() -> Result<()> {
    let (mut store, core) = instance()?;
    let secrets = core.mfa_core_secrets();
    let vectors: [(&[u8], &str); 8] = [
        (b"", ""),
        (b"f", "MY"),
        (b"fo", "MZXQ"),
        (b"foo", "MZXW6"),
        (b"foob", "MZXW6YQ"),
        (b"fooba", "MZXW6YTB"),
        (b"foobar", "MZXW6YTBOI"),
        (SEED_SHA1, SEED_SHA1_B32),
    ];
    let mut m = Mismatches::default();
    for (bytes, text) in vectors {
        check!(m, secrets.call_encode_base32(&mut store, bytes)?, text);
    }
    assert_eq!(secrets.call_encode_base32(&mut store, &[0xff; 5])?, "77777777");
    m.finish();
    Ok(())
}

#[test]
fn decode_base32_reads_what_users_type() -> Result<()> {
    let (mut store, core) = instance()?;
    let secrets = core.mfa_core_secrets();
    let cases: [(&str, &[u8]); 10] = [
        ("MZXW6YTBOI", b"foobar"),
        ("mzxw6ytboi", b"foobar"),
        ("MzXw 6yTb oI", b"foobar"),
        (" MZXW6YTBOI ", b"foobar"),
        ("MZXW6YQ=", b"foob"),
        ("MZXW6===", b"foo"),
        ("my======", b"f"),
        ("MY", b"f"),
        ("gezd gnbv gy3t qojq gezd gnbv gy3t qojq", SEED_SHA1),
        ("77777777", &[0xff; 5]),
    ];
    let mut m = Mismatches::default();
    for (text, bytes) in cases {
        check!(m, secrets.call_decode_base32(&mut store, text)?, Ok(bytes.to_vec()), "{text:?}");
    }
    let longest = "A".repeat(1024);
    assert_eq!(secrets.call_decode_base32(&mut store, &longest)?, Ok(vec![0; 640]));
    m.finish();
    Ok(())
}

#[test]
fn decode_base32_errors() -> Result<()> {
    let (mut store, core) = instance()?;
    let secrets = core.mfa_core_secrets();
    let cases: Vec<(String, Base32Error)> = vec![
        (String::new(), Base32Error::Empty),
        ("    ".into(), Base32Error::Empty),
        ("========".into(), Base32Error::Empty),
        ("MZ1W".into(), Base32Error::InvalidCharacter(2)),
        ("0ZXW".into(), Base32Error::InvalidCharacter(0)),
        ("MZX W1".into(), Base32Error::InvalidCharacter(5)),
        ("MZé2".into(), Base32Error::InvalidCharacter(2)),
        ("ééMY".into(), Base32Error::InvalidCharacter(0)),
        ("MZXW-6YTB".into(), Base32Error::InvalidCharacter(4)),
        ("M".into(), Base32Error::InvalidLength),
        ("MZX".into(), Base32Error::InvalidLength),
        ("MZXW6Y".into(), Base32Error::InvalidLength),
        ("MZXW6YTBO".into(), Base32Error::InvalidLength),
        // "MZ": the last character carries the bits 01 past the one byte.
        ("MZ".into(), Base32Error::NonZeroTrailingBits),
        ("MZXW6YR".into(), Base32Error::NonZeroTrailingBits),
        ("MY=MY".into(), Base32Error::MisplacedPadding),
        ("MZ=XW6YQ".into(), Base32Error::MisplacedPadding),
        ("A".repeat(1032), Base32Error::TooLong),
    ];
    let mut m = Mismatches::default();
    for (text, error) in cases {
        check!(m, secrets.call_decode_base32(&mut store, &text)?, Err(error), "{text:?}");
    }
    m.finish();
    Ok(())
}

#[test]
fn base32_round_trips_generated_secrets() -> Result<()> {
    let (mut store, core) = instance()?;
    let secrets = core.mfa_core_secrets();
    let mut m = Mismatches::default();
    for bits in [128u32, 160, 200, 256, 512] {
        let secret = secrets.call_generate_secret(&mut store, bits)?.unwrap();
        let text = secrets.call_encode_base32(&mut store, &secret)?;
        assert!(text.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)), "{text}");
        check!(m, secrets.call_decode_base32(&mut store, &text)?, Ok(secret));
    }
    m.finish();
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// otpauth
// ---------------------------------------------------------------------------------------------------------------

fn key(issuer: Option<&str>, account: &str, secret: &[u8], params: TotpParams) -> OtpauthKey {
    OtpauthKey { issuer: issuer.map(str::to_string), account: account.to_string(), secret: secret.to_vec(), params }
}

#[test]
fn build_uri_matches_the_key_uri_format() -> Result<()> {
    let (mut store, core) = instance()?;
    let otpauth = core.mfa_core_otpauth();
    let cases = [
        (
            key(Some("ACME Co"), "alice@example.com", SEED_SHA1, sha1_6()),
            format!(
                "otpauth://totp/ACME%20Co:alice%40example.com?secret={SEED_SHA1_B32}&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30"
            ),
        ),
        (
            key(None, "alice@example.com", SEED_SHA1, sha1_6()),
            format!("otpauth://totp/alice%40example.com?secret={SEED_SHA1_B32}&algorithm=SHA1&digits=6&period=30"),
        ),
        (
            key(Some("Zürich: Ops"), "jörg @ x:y 日本", SEED_SHA1, params(Algorithm::Sha256, 8, 60)),
            format!(
                "otpauth://totp/Z%C3%BCrich%3A%20Ops:j%C3%B6rg%20%40%20x%3Ay%20%E6%97%A5%E6%9C%AC?secret={SEED_SHA1_B32}\
                 &issuer=Z%C3%BCrich%3A%20Ops&algorithm=SHA256&digits=8&period=60"
            ),
        ),
        (
            key(Some("a-b_c.d~e"), "x+y/z?w&v=u#t", SEED_SHA1, params(Algorithm::Sha512, 6, 15)),
            format!(
                "otpauth://totp/a-b_c.d~e:x%2By%2Fz%3Fw%26v%3Du%23t?secret={SEED_SHA1_B32}\
                 &issuer=a-b_c.d~e&algorithm=SHA512&digits=6&period=15"
            ),
        ),
    ];
    let mut m = Mismatches::default();
    for (k, uri) in cases {
        check!(m, otpauth.call_build_uri(&mut store, &k)?, Ok(uri), "{k:?}");
    }
    m.finish();
    Ok(())
}

#[test]
fn otpauth_round_trip_with_spaces_at_signs_colons_and_unicode() -> Result<()> {
    let (mut store, core) = instance()?;
    let otpauth = core.mfa_core_otpauth();
    let keys = [
        key(Some("ACME Co"), "alice@example.com", SEED_SHA1, sha1_6()),
        key(Some("Zürich: Ops"), "jörg @ x:y 日本", SEED_SHA256, params(Algorithm::Sha256, 8, 60)),
        key(Some("Ünïcødé Bank 🏦"), "Ωmega user:1@example.org", SEED_SHA512, params(Algorithm::Sha512, 8, 120)),
        key(None, "bob smith@example.com", &[0x5a; 16], params(Algorithm::Sha1, 6, 15)),
        key(Some("A:B:C"), "d:e", &[0xa5; 64], sha1_6()),
        key(Some("%41 %3A"), "100% sure", SEED_SHA1, sha1_6()),
    ];
    let mut m = Mismatches::default();
    for k in keys {
        let uri = otpauth.call_build_uri(&mut store, &k)?.unwrap();
        assert!(uri.starts_with("otpauth://totp/"), "{uri}");
        assert!(!uri.contains(' '), "unencoded space in {uri}");
        assert!(uri.is_ascii(), "unencoded non-ASCII in {uri}");
        let parsed = otpauth.call_parse_uri(&mut store, &uri)?;
        check!(m, parsed, Ok(k.clone()), "parse(build(k)) for {uri}");
        check!(m, otpauth.call_build_uri(&mut store, &parsed.unwrap())?, Ok(uri.clone()), "build(parse(u)) for {uri}");
    }
    m.finish();
    Ok(())
}

#[test]
fn parse_uri_reads_other_services_uris() -> Result<()> {
    let (mut store, core) = instance()?;
    let otpauth = core.mfa_core_otpauth();
    let b32 = SEED_SHA1_B32;
    let cases = [
        // Missing parameters take the defaults; the issuer comes from the label.
        (format!("otpauth://totp/ACME:alice?secret={b32}"), key(Some("ACME"), "alice", SEED_SHA1, sha1_6())),
        // `%3A` separator followed by spaces; the issuer parameter agrees.
        (
            format!("otpauth://totp/ACME%20Co%3A%20%20alice%40example.com?secret={b32}&issuer=ACME%20Co"),
            key(Some("ACME Co"), "alice@example.com", SEED_SHA1, sha1_6()),
        ),
        // `:` separator followed by a space.
        (format!("otpauth://totp/ACME:%20alice?issuer=ACME&secret={b32}"), key(Some("ACME"), "alice", SEED_SHA1, sha1_6())),
        // No issuer in the label, only as a parameter.
        (format!("otpauth://totp/alice?secret={b32}&issuer=ACME"), key(Some("ACME"), "alice", SEED_SHA1, sha1_6())),
        // Whitespace around names written by careless issuers is trimmed.
        (format!("otpauth://totp/ACME:alice%20?secret={b32}&issuer=%20ACME"), key(Some("ACME"), "alice", SEED_SHA1, sha1_6())),
        // No issuer at all.
        (format!("otpauth://totp/alice?secret={b32}"), key(None, "alice", SEED_SHA1, sha1_6())),
        // Lower-case, space-free and padded secrets; parameters in any order; unknown ones ignored.
        (
            "otpauth://totp/Example:bob?period=60&digits=8&algorithm=SHA512&secret=gezdgnbvgy3tqojqgezdgnbvgy%3D%3D%3D%3D%3D%3D&image=https%3A%2F%2Fexample.com%2Flogo.png&issuer=Example"
                .to_string(),
            key(Some("Example"), "bob", b"1234567890123456", params(Algorithm::Sha512, 8, 60)),
        ),
        (
            "otpauth://totp/Example:bob?secret=GEZD%20GNBV%20GY3T%20QOJQ%20GEZD%20GNBV%20GY3Q====".to_string(),
            key(Some("Example"), "bob", b"12345678901234567", sha1_6()),
        ),
        (
            format!("otpauth://totp/Example:bob?secret={b32}&algorithm=SHA256&color=blue"),
            key(Some("Example"), "bob", SEED_SHA1, params(Algorithm::Sha256, 6, 30)),
        ),
    ];
    let mut m = Mismatches::default();
    for (uri, expected) in cases {
        check!(m, otpauth.call_parse_uri(&mut store, &uri)?, Ok(expected), "{uri}");
    }
    m.finish();
    Ok(())
}

#[test]
fn parse_uri_errors() -> Result<()> {
    let (mut store, core) = instance()?;
    let otpauth = core.mfa_core_otpauth();
    let b32 = SEED_SHA1_B32;
    let long_image = "a".repeat(4097);
    let cases: Vec<(String, UriError)> = vec![
        ("https://example.com/totp/ACME:alice".into(), UriError::NotOtpauth),
        (format!("otpauth:/totp/ACME:alice?secret={b32}"), UriError::NotOtpauth),
        (String::new(), UriError::NotOtpauth),
        (format!("otpauth://hotp/ACME:alice?secret={b32}&counter=0"), UriError::UnsupportedType("hotp".into())),
        (format!("otpauth://yubi/ACME:alice?secret={b32}"), UriError::UnsupportedType("yubi".into())),
        (format!("otpauth://totp/?secret={b32}"), UriError::MissingAccount),
        (format!("otpauth://totp/ACME:ali%0Ace?secret={b32}"), UriError::InvalidLabel),
        (format!("otpauth://totp/alice?secret={b32}&issuer=%20%20"), UriError::InvalidLabel),
        (format!("otpauth://totp/ACME:al%ZZice?secret={b32}"), UriError::InvalidPercentEncoding),
        (format!("otpauth://totp/ACME:alice%FF?secret={b32}"), UriError::InvalidPercentEncoding),
        (format!("otpauth://totp/ACME:alice?secret={b32}&issuer=AC%4"), UriError::InvalidPercentEncoding),
        ("otpauth://totp/ACME:alice?issuer=ACME".into(), UriError::MissingSecret),
        (
            "otpauth://totp/ACME:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ1".into(),
            UriError::InvalidSecret(Base32Error::InvalidCharacter(31)),
        ),
        (
            "otpauth://totp/ACME:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQG".into(),
            UriError::InvalidSecret(Base32Error::InvalidLength),
        ),
        ("otpauth://totp/ACME:alice?secret=".into(), UriError::InvalidSecret(Base32Error::Empty)),
        // 16 Base32 characters are 10 bytes: 80 bits.
        ("otpauth://totp/ACME:alice?secret=JBSWY3DPEHPK3PXP".into(), UriError::InvalidSecretLength(80)),
        (format!("otpauth://totp/ACME:alice?secret={}", "A".repeat(104)), UriError::InvalidSecretLength(520)),
        (format!("otpauth://totp/ACME:alice?secret={b32}&issuer=Other"), UriError::IssuerMismatch),
        (format!("otpauth://totp/ACME:alice?secret={b32}&algorithm=MD5"), UriError::InvalidAlgorithm("MD5".into())),
        (format!("otpauth://totp/ACME:alice?secret={b32}&digits=7"), UriError::InvalidDigits("7".into())),
        (format!("otpauth://totp/ACME:alice?secret={b32}&digits=six"), UriError::InvalidDigits("six".into())),
        (format!("otpauth://totp/ACME:alice?secret={b32}&period=10"), UriError::InvalidPeriod("10".into())),
        (format!("otpauth://totp/ACME:alice?secret={b32}&period=121"), UriError::InvalidPeriod("121".into())),
        (format!("otpauth://totp/ACME:alice?secret={b32}&period=abc"), UriError::InvalidPeriod("abc".into())),
        (format!("otpauth://totp/ACME:alice?secret={b32}&secret={b32}"), UriError::DuplicateParameter("secret".into())),
        (
            format!("otpauth://totp/ACME:alice?secret={b32}&issuer=ACME&issuer=ACME"),
            UriError::DuplicateParameter("issuer".into()),
        ),
        (format!("otpauth://totp/ACME:alice?secret={b32}&image={long_image}"), UriError::TooLong),
    ];
    let mut m = Mismatches::default();
    for (uri, error) in cases {
        check!(m, otpauth.call_parse_uri(&mut store, &uri)?, Err(error), "{uri}");
    }
    m.finish();
    Ok(())
}

#[test]
fn parse_uri_accepts_exactly_4096_characters() -> Result<()> {
    let (mut store, core) = instance()?;
    let prefix = format!("otpauth://totp/ACME:alice?secret={SEED_SHA1_B32}&image=");
    let uri = format!("{prefix}{}", "a".repeat(4096 - prefix.len()));
    assert_eq!(uri.len(), 4096);
    assert_eq!(
        core.mfa_core_otpauth().call_parse_uri(&mut store, &uri)?,
        Ok(key(Some("ACME"), "alice", SEED_SHA1, sha1_6()))
    );
    Ok(())
}

#[test]
fn build_uri_errors() -> Result<()> {
    let (mut store, core) = instance()?;
    let otpauth = core.mfa_core_otpauth();
    let cases = [
        (key(Some("ACME"), "", SEED_SHA1, sha1_6()), UriError::InvalidLabel),
        (key(Some("ACME"), "   ", SEED_SHA1, sha1_6()), UriError::InvalidLabel),
        (key(Some("ACME"), " alice", SEED_SHA1, sha1_6()), UriError::InvalidLabel),
        (key(Some("ACME"), "alice\t", SEED_SHA1, sha1_6()), UriError::InvalidLabel),
        (key(Some("ACME"), "ali\u{7}ce", SEED_SHA1, sha1_6()), UriError::InvalidLabel),
        (key(Some(""), "alice", SEED_SHA1, sha1_6()), UriError::InvalidLabel),
        (key(Some("ACME "), "alice", SEED_SHA1, sha1_6()), UriError::InvalidLabel),
        (key(Some("AC\nME"), "alice", SEED_SHA1, sha1_6()), UriError::InvalidLabel),
        (key(Some("ACME"), "alice", &[1; 15], sha1_6()), UriError::InvalidSecretLength(120)),
        (key(Some("ACME"), "alice", &[1; 65], sha1_6()), UriError::InvalidSecretLength(520)),
        (key(Some("ACME"), "alice", SEED_SHA1, params(Algorithm::Sha1, 7, 30)), UriError::InvalidDigits("7".into())),
        (key(Some("ACME"), "alice", SEED_SHA1, params(Algorithm::Sha1, 6, 14)), UriError::InvalidPeriod("14".into())),
        (key(Some("ACME"), &"a".repeat(5000), SEED_SHA1, sha1_6()), UriError::TooLong),
    ];
    let mut m = Mismatches::default();
    for (k, error) in cases {
        check!(m, otpauth.call_build_uri(&mut store, &k)?, Err(error), "{:?}", k.account.get(..40));
    }
    m.finish();
    Ok(())
}

/// A label part: no leading or trailing whitespace, no control characters; spaces, `@`, `:`, `%` and unicode inside.
fn label_part() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9@:%&=?#+/.äü日本Ω🏦-]([a-zA-Z0-9 @:%&=?#+/.äü日本Ω🏦-]{0,24}[a-zA-Z0-9@:%&=?#+/.äü日本Ω🏦-])?"
}

fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop_oneof![Just(Algorithm::Sha1), Just(Algorithm::Sha256), Just(Algorithm::Sha512)]
}

fn otpauth_key() -> impl Strategy<Value = OtpauthKey> {
    (
        proptest::option::of(label_part()),
        label_part(),
        proptest::collection::vec(any::<u8>(), 16..=64),
        algorithm(),
        prop_oneof![Just(6u8), Just(8u8)],
        15u32..=120,
    )
        .prop_map(|(issuer, account, secret, algorithm, digits, period)| OtpauthKey {
            issuer,
            account,
            secret,
            params: TotpParams { algorithm, digits, period },
        })
}

/// A trap (or a failure to instantiate) as a proptest failure.
fn no_trap<T, E: std::fmt::Debug>(result: Result<T, E>) -> Result<T, TestCaseError> {
    result.map_err(|trap| TestCaseError::fail(format!("trap: {trap:?}")))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    /// `parse-uri(build-uri(k)) == k` and `build-uri(parse-uri(u)) == u` for every valid key (the WIT's promise).
    #[test]
    fn otpauth_round_trips_every_valid_key(k in otpauth_key()) {
        let (mut store, core) = no_trap(instance())?;
        let otpauth = core.mfa_core_otpauth();
        let uri = no_trap(otpauth.call_build_uri(&mut store, &k))?;
        prop_assert!(uri.is_ok(), "build_uri({k:?}) = {uri:?}");
        let uri = uri.unwrap();
        let parsed = no_trap(otpauth.call_parse_uri(&mut store, &uri))?;
        prop_assert_eq!(&parsed, &Ok(k.clone()), "uri {}", uri);
        let rebuilt = no_trap(otpauth.call_build_uri(&mut store, &k))?;
        prop_assert_eq!(rebuilt, Ok(uri));
    }

    /// A code generated for a time verifies at that time with window 0, and is accepted as its step.
    #[test]
    fn totp_generate_then_verify(secret in proptest::collection::vec(any::<u8>(), 16..=64), algorithm in algorithm(),
                                 digits in prop_oneof![Just(6u8), Just(8u8)], period in 15u32..=120, now in 0u64..=40_000_000_000) {
        let (mut store, core) = no_trap(instance())?;
        let otp = core.mfa_core_otp();
        let p = TotpParams { algorithm, digits, period };
        let code = no_trap(otp.call_totp_generate(&mut store, &secret, p, now))?;
        prop_assert!(code.is_ok(), "{code:?}");
        let code = code.unwrap();
        prop_assert_eq!(code.len(), usize::from(digits));
        prop_assert!(code.bytes().all(|b| b.is_ascii_digit()));
        let step = now / u64::from(period);
        prop_assert_eq!(no_trap(otp.call_totp_step(&mut store, p, now))?, Ok(step));
        prop_assert_eq!(no_trap(otp.call_totp_verify(&mut store, &secret, p, &code, now, 0, None))?, Ok(TotpVerdict::Accepted(step)));
        prop_assert_eq!(no_trap(otp.call_totp_verify(&mut store, &secret, p, &code, now, 0, Some(step)))?, Ok(TotpVerdict::Replayed(step)));
        // HOTP at the step is the same code (RFC 6238 §4: TOTP = HOTP(K, T)).
        prop_assert_eq!(no_trap(otp.call_hotp_generate(&mut store, &secret, step, algorithm, digits))?, Ok(code));
    }
}

// ---------------------------------------------------------------------------------------------------------------
// qr
// ---------------------------------------------------------------------------------------------------------------

const ENROLL_URI: &str = "otpauth://totp/ACME%20Co:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30";

/// A PNG decoded to 8-bit grey levels (whatever its bit depth: EXPAND widens 1-, 2- and 4-bit grey).
pub(crate) struct Grey {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
    /// Colour type and bit depth as stored in the file.
    stored: (png::ColorType, png::BitDepth),
}

pub(crate) fn decode_png(bytes: &[u8]) -> Grey {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().expect("a PNG header");
    let stored = (reader.info().color_type, reader.info().bit_depth);
    let mut buf = vec![0; reader.output_buffer_size().expect("a PNG small enough to decode")];
    let frame = reader.next_frame(&mut buf).expect("a PNG frame");
    assert_eq!(frame.bit_depth, png::BitDepth::Eight, "after EXPAND");
    let channels = frame.color_type.samples();
    let (width, height) = (frame.width as usize, frame.height as usize);
    let mut pixels = Vec::with_capacity(width * height);
    for y in 0..height {
        let line = &buf[y * frame.line_size..][..width * channels];
        // Grey (or grey + alpha, or RGB from a palette): the first sample is enough for black on white.
        pixels.extend(line.chunks(channels).map(|px| px[0]));
    }
    Grey { width, height, pixels, stored }
}

/// An SVG rasterised by resvg on white, to 8-bit grey levels, at least 400 pixels wide (so that every module is
/// several pixels, as a camera would see it).
pub(crate) fn rasterise_svg(svg: &str) -> Grey {
    let tree = resvg::usvg::Tree::from_str(svg, &resvg::usvg::Options::default()).expect("a valid SVG document");
    let scale = (400.0 / tree.size().width()).max(1.0).ceil();
    let size = tree.size().to_int_size().scale_by(scale).expect("a drawable size");
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height()).expect("a pixmap");
    pixmap.fill(resvg::tiny_skia::Color::WHITE);
    resvg::render(&tree, resvg::tiny_skia::Transform::from_scale(scale, scale), &mut pixmap.as_mut());
    let pixels = pixmap.pixels().iter().map(|pixel| pixel.demultiply().red()).collect();
    Grey {
        width: size.width() as usize,
        height: size.height() as usize,
        pixels,
        stored: (png::ColorType::Rgba, png::BitDepth::Eight),
    }
}

pub(crate) fn decode_qr(image: &Grey) -> (rqrr::MetaData, String) {
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(image.width, image.height, |x, y| {
        image.pixels[y * image.width + x]
    });
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "QR codes found");
    grids[0].decode().expect("a decodable QR code")
}

#[test]
fn render_png_decodes_back_to_the_uri() -> Result<()> {
    let (mut store, core) = instance()?;
    let mut m = Mismatches::default();
    for scale in [2u32, 4, 8] {
        let png = core.mfa_core_qr().call_render_png(&mut store, ENROLL_URI, scale)?.unwrap();
        check!(m, &png[..8], b"\x89PNG\r\n\x1a\n");
        let image = decode_png(&png);
        check!(m, image.width, image.height);
        let scale = scale as usize;
        check!(m, image.width % scale, 0, "whole modules");
        let modules = image.width / scale - 8;
        check!(m, (modules - 17) % 4, 0, "{modules} modules plus a 4-module quiet zone");
        let (meta, text) = decode_qr(&image);
        check!(m, text, ENROLL_URI);
        check!(m, meta.version.0, (modules - 17) / 4);
        // rqrr reports the raw format bits: 0 is level M.
        check!(m, meta.ecc_level, 0, "error-correction level M");
        // Quiet zone white, then the finder pattern's black corner.
        let quiet = 4 * scale;
        for i in 0..quiet {
            check!(m, image.pixels[i * image.width + i], 255, "quiet zone at ({i}, {i})");
        }
        check!(m, image.pixels[quiet * image.width + quiet], 0, "finder pattern corner");
        check!(m, image.pixels[(quiet + scale - 1) * image.width + quiet + scale - 1], 0);
    }
    m.finish();
    Ok(())
}

#[test]
fn render_png_is_1_bit_greyscale() -> Result<()> {
    let (mut store, core) = instance()?;
    let png = core.mfa_core_qr().call_render_png(&mut store, ENROLL_URI, 4)?.unwrap();
    let image = decode_png(&png);
    assert_eq!(image.stored, (png::ColorType::Grayscale, png::BitDepth::One));
    assert!(image.pixels.iter().all(|&p| p == 0 || p == 255), "only black and white");
    Ok(())
}

#[test]
fn render_png_scale_bounds() -> Result<()> {
    let (mut store, core) = instance()?;
    let qr = core.mfa_core_qr();
    // "hello" fits version 1 (21 modules): 29 with the quiet zone.
    let one = decode_png(&qr.call_render_png(&mut store, "hello", 1)?.unwrap());
    assert_eq!((one.width, one.height), (29, 29));
    let big = decode_png(&qr.call_render_png(&mut store, "hello", 32)?.unwrap());
    assert_eq!((big.width, big.height), (29 * 32, 29 * 32));
    assert_eq!(decode_qr(&big).1, "hello");
    let mut m = Mismatches::default();
    for scale in [0u32, 33, 1000, u32::MAX] {
        check!(m, qr.call_render_png(&mut store, "hello", scale)?, Err(QrError::InvalidScale(scale)));
    }
    m.finish();
    Ok(())
}

#[test]
fn render_svg_is_a_standalone_document_that_decodes_back_to_the_uri() -> Result<()> {
    let (mut store, core) = instance()?;
    let qr = core.mfa_core_qr();
    let svg = qr.call_render_svg(&mut store, ENROLL_URI)?.unwrap();
    let trimmed = svg.trim();
    assert!(trimmed.starts_with("<?xml") || trimmed.starts_with("<svg"), "{}", &trimmed[..trimmed.len().min(80)]);
    assert!(trimmed.contains("<svg") && trimmed.contains("xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(trimmed.ends_with("</svg>"));
    // Drawn, it is the same QR code as the PNG: it decodes back to the text, at level M.
    let (meta, text) = decode_qr(&rasterise_svg(&svg));
    assert_eq!((text.as_str(), meta.ecc_level), (ENROLL_URI, 0));
    // Deterministic, and it depends on the text.
    assert_eq!(qr.call_render_svg(&mut store, ENROLL_URI)?, Ok(svg.clone()));
    assert_ne!(qr.call_render_svg(&mut store, "hello")?.unwrap(), svg);
    Ok(())
}

#[test]
fn render_rejects_text_too_long_for_version_40_m() -> Result<()> {
    let (mut store, core) = instance()?;
    let qr = core.mfa_core_qr();
    // Version 40-M holds at most 2331 bytes in byte mode.
    let text = "a".repeat(4000);
    assert_eq!(qr.call_render_svg(&mut store, &text)?, Err(QrError::DataTooLong));
    assert_eq!(qr.call_render_png(&mut store, &text, 4)?, Err(QrError::DataTooLong));
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// backup codes
// ---------------------------------------------------------------------------------------------------------------

const PEPPER: &[u8] = b"0123456789abcdef0123456789abcdef";
const CROCKFORD: &str = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

fn assert_backup_code_shape(code: &str) {
    let parts: Vec<&str> = code.split('-').collect();
    assert_eq!(parts.len(), 3, "{code}");
    for part in parts {
        assert_eq!(part.len(), 4, "{code}");
        assert!(part.chars().all(|c| CROCKFORD.contains(c)), "{code}");
    }
}

#[test]
fn generate_backup_codes_gives_distinct_formatted_codes() -> Result<()> {
    let (mut store, core) = instance()?;
    let backup = core.mfa_core_backup_codes();
    let codes = backup.call_generate_backup_codes(&mut store, 10)?.unwrap();
    assert_eq!(codes.len(), 10);
    let mut m = Mismatches::default();
    for code in &codes {
        assert_backup_code_shape(code);
    }
    let mut unique = codes.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 10);
    assert_ne!(backup.call_generate_backup_codes(&mut store, 10)?.unwrap(), codes, "a second set is the same");
    assert_eq!(backup.call_generate_backup_codes(&mut store, 1)?.unwrap().len(), 1);
    assert_eq!(backup.call_generate_backup_codes(&mut store, 100)?.unwrap().len(), 100);
    for count in [0u32, 101, u32::MAX] {
        check!(m, backup.call_generate_backup_codes(&mut store, count)?, Err(BackupCodeError::InvalidCount(count)));
    }
    m.finish();
    Ok(())
}

#[test]
fn normalize_backup_code_is_lenient_on_input() -> Result<()> {
    let (mut store, core) = instance()?;
    let backup = core.mfa_core_backup_codes();
    let cases = [
        ("ABCD-EFGH-JKMN", "ABCDEFGHJKMN"),
        ("abcd-efgh-jkmn", "ABCDEFGHJKMN"),
        ("abcdefghjkmn", "ABCDEFGHJKMN"),
        (" ab cd-ef gh - jk mn ", "ABCDEFGHJKMN"),
        ("oOiI-lL01-2345", "001111012345"),
        ("PQRS-TVWX-YZ98", "PQRSTVWXYZ98"),
    ];
    let mut m = Mismatches::default();
    for (input, canonical) in cases {
        check!(m, backup.call_normalize_backup_code(&mut store, input)?, Ok(canonical.to_string()), "{input:?}");
    }
    for bad in
        ["", "ABCD-EFGH-JKM", "ABCD-EFGH-JKMNP", "ABCD-EFGH-JKMU", "ABCD_EFGH_JKMN", "ÄBCD-EFGH-JKMN", "ABCD.EFGH.JKMN"]
    {
        check!(m, backup.call_normalize_backup_code(&mut store, bad)?, Err(BackupCodeError::MalformedCode), "{bad:?}");
    }
    m.finish();
    Ok(())
}

/// HMAC-SHA-256 over the framed message the WIT documents: each part preceded by its length as 8 big-endian bytes.
fn framed_hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("any key length");
    for part in parts {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

const BACKUP_DOMAIN: &[u8] = b"mfa-core/backup-code/v1";
const NUMERIC_DOMAIN: &[u8] = b"mfa-core/numeric-code/v1";

#[test]
fn hash_backup_code_is_hmac_of_salt_and_normalised_code() -> Result<()> {
    let (mut store, core) = instance()?;
    let backup = core.mfa_core_backup_codes();
    let a = backup.call_hash_backup_code(&mut store, PEPPER, "abcd-efgh-jkmn")?.unwrap();
    assert_eq!(a.salt.len(), 16);
    assert_eq!(a.hash.len(), 32);
    assert_eq!(a.hash, framed_hmac_sha256(PEPPER, &[BACKUP_DOMAIN, &a.salt, b"ABCDEFGHJKMN"]));
    let b = backup.call_hash_backup_code(&mut store, PEPPER, "ABCDEFGHJKMN")?.unwrap();
    assert_ne!(a.salt, b.salt, "a fresh salt per code");
    assert_eq!(b.hash, framed_hmac_sha256(PEPPER, &[BACKUP_DOMAIN, &b.salt, b"ABCDEFGHJKMN"]));
    // A 16-byte pepper is enough.
    assert!(backup.call_hash_backup_code(&mut store, &PEPPER[..16], "ABCDEFGHJKMN")?.is_ok());
    assert_eq!(
        backup.call_hash_backup_code(&mut store, &PEPPER[..15], "ABCDEFGHJKMN")?,
        Err(BackupCodeError::PepperTooShort(15))
    );
    assert_eq!(backup.call_hash_backup_code(&mut store, &[], "ABCDEFGHJKMN")?, Err(BackupCodeError::PepperTooShort(0)));
    assert_eq!(backup.call_hash_backup_code(&mut store, PEPPER, "bad")?, Err(BackupCodeError::MalformedCode));
    Ok(())
}

#[test]
fn verify_backup_code_returns_the_matching_index() -> Result<()> {
    let (mut store, core) = instance()?;
    let backup = core.mfa_core_backup_codes();
    let codes = backup.call_generate_backup_codes(&mut store, 10)?.unwrap();
    let stored: Vec<HashedCode> = codes
        .iter()
        .map(|c| backup.call_hash_backup_code(&mut store, PEPPER, c).map(Result::unwrap))
        .collect::<wasmtime::Result<_>>()?;
    let mut m = Mismatches::default();
    for (index, code) in (0u32..).zip(&codes) {
        check!(m, backup.call_verify_backup_code(&mut store, PEPPER, code, &stored)?, Ok(Some(index)), "{code}");
    }
    // Typed leniently: lower case, no dashes, 0 typed as o and 1 as l.
    let typed = codes[7].to_lowercase().replace('-', " ").replace('0', "o").replace('1', "l");
    assert_eq!(backup.call_verify_backup_code(&mut store, PEPPER, &typed, &stored)?, Ok(Some(7)), "{typed}");
    // A well-formed code that is not in the set.
    let wrong = (0..).map(|i: u32| format!("{:04}-0000-0000", i % 10_000)).find(|c| !codes.contains(c)).unwrap();
    assert_eq!(backup.call_verify_backup_code(&mut store, PEPPER, &wrong, &stored)?, Ok(None));
    // The right code under another pepper.
    let other = b"another pepper, 32 bytes long!!!";
    assert_eq!(backup.call_verify_backup_code(&mut store, other, &codes[0], &stored)?, Ok(None));
    // Nothing stored.
    assert_eq!(backup.call_verify_backup_code(&mut store, PEPPER, &codes[0], &[])?, Ok(None));
    m.finish();
    Ok(())
}

#[test]
fn verify_backup_code_errors() -> Result<()> {
    let (mut store, core) = instance()?;
    let backup = core.mfa_core_backup_codes();
    let good = backup.call_hash_backup_code(&mut store, PEPPER, "ABCD-EFGH-JKMN")?.unwrap();
    let stored = vec![good.clone(), good.clone(), good.clone()];
    assert_eq!(
        backup.call_verify_backup_code(&mut store, &PEPPER[..8], "ABCD-EFGH-JKMN", &stored)?,
        Err(BackupCodeError::PepperTooShort(8))
    );
    assert_eq!(
        backup.call_verify_backup_code(&mut store, PEPPER, "ABCD-EFGH", &stored)?,
        Err(BackupCodeError::MalformedCode)
    );
    let mut short_salt = stored.clone();
    short_salt[2].salt.truncate(15);
    assert_eq!(
        backup.call_verify_backup_code(&mut store, PEPPER, "ABCD-EFGH-JKMN", &short_salt)?,
        Err(BackupCodeError::CorruptEntry(2))
    );
    let mut long_hash = stored.clone();
    long_hash[1].hash.push(0);
    assert_eq!(
        backup.call_verify_backup_code(&mut store, PEPPER, "ABCD-EFGH-JKMN", &long_hash)?,
        Err(BackupCodeError::CorruptEntry(1))
    );
    let empty = vec![HashedCode { salt: vec![], hash: vec![] }];
    assert_eq!(
        backup.call_verify_backup_code(&mut store, PEPPER, "ABCD-EFGH-JKMN", &empty)?,
        Err(BackupCodeError::CorruptEntry(0))
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// numeric codes
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn generate_numeric_code_lengths_and_leading_zeros() -> Result<()> {
    let (mut store, core) = instance()?;
    let numeric = core.mfa_core_numeric_codes();
    let mut m = Mismatches::default();
    for digits in 4u8..=10 {
        let code = numeric.call_generate_numeric_code(&mut store, digits)?.unwrap();
        check!(m, code.len(), usize::from(digits), "{code}");
        assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
    }
    // Uniform over all 4-digit strings: among 2000 codes some start with 0 (chance of none: 0.9^2000) and they
    // are not all the same.
    let codes: Vec<String> = (0..2000)
        .map(|_| numeric.call_generate_numeric_code(&mut store, 4).map(Result::unwrap))
        .collect::<wasmtime::Result<_>>()?;
    assert!(codes.iter().any(|c| c.starts_with('0')), "no code starts with 0: not zero-padded?");
    let mut unique = codes.clone();
    unique.sort();
    unique.dedup();
    assert!(unique.len() > 1000, "only {} distinct codes of 2000", unique.len());
    for digits in [0u8, 3, 11, 255] {
        check!(
            m,
            numeric.call_generate_numeric_code(&mut store, digits)?,
            Err(NumericCodeError::InvalidDigits(digits))
        );
    }
    m.finish();
    Ok(())
}

#[test]
fn hash_and_verify_numeric_code() -> Result<()> {
    let (mut store, core) = instance()?;
    let numeric = core.mfa_core_numeric_codes();
    let hash = numeric.call_hash_numeric_code(&mut store, PEPPER, "challenge-1", "123456")?.unwrap();
    assert_eq!(hash.len(), 32);
    // Deterministic, and bound to pepper, binding and code.
    assert_eq!(numeric.call_hash_numeric_code(&mut store, PEPPER, "challenge-1", "123456")?, Ok(hash.clone()));
    assert_eq!(hash, framed_hmac_sha256(PEPPER, &[NUMERIC_DOMAIN, b"challenge-1", b"123456"]));
    assert_ne!(numeric.call_hash_numeric_code(&mut store, PEPPER, "challenge-2", "123456")?.unwrap(), hash);
    assert_ne!(numeric.call_hash_numeric_code(&mut store, PEPPER, "challenge-1", "123457")?.unwrap(), hash);
    assert_ne!(numeric.call_hash_numeric_code(&mut store, &PEPPER[..16], "challenge-1", "123456")?.unwrap(), hash);
    // The length prefix keeps (binding, code) pairs apart: "a1" + "23456" is not "a" + "123456".
    assert_ne!(
        numeric.call_hash_numeric_code(&mut store, PEPPER, "a1", "23456")?.unwrap(),
        numeric.call_hash_numeric_code(&mut store, PEPPER, "a", "123456")?.unwrap()
    );
    let verify = |store: &mut Store<HostState>, binding: &str, input: &str| {
        numeric.call_verify_numeric_code(store, PEPPER, binding, 6, input, &hash)
    };
    assert_eq!(verify(&mut store, "challenge-1", "123456")?, Ok(true));
    assert_eq!(verify(&mut store, "challenge-1", "123 456")?, Ok(true));
    assert_eq!(verify(&mut store, "challenge-1", " 123-456 ")?, Ok(true));
    assert_eq!(verify(&mut store, "challenge-1", "123457")?, Ok(false));
    assert_eq!(verify(&mut store, "challenge-2", "123456")?, Ok(false));
    // A generated code round-trips.
    let code = numeric.call_generate_numeric_code(&mut store, 8)?.unwrap();
    let stored = numeric.call_hash_numeric_code(&mut store, PEPPER, "enroll:+14155552671", &code)?.unwrap();
    assert_eq!(
        numeric.call_verify_numeric_code(&mut store, PEPPER, "enroll:+14155552671", 8, &code, &stored)?,
        Ok(true)
    );
    Ok(())
}

#[test]
fn numeric_code_errors() -> Result<()> {
    let (mut store, core) = instance()?;
    let numeric = core.mfa_core_numeric_codes();
    let hash = numeric.call_hash_numeric_code(&mut store, PEPPER, "c", "123456")?.unwrap();
    assert_eq!(
        numeric.call_hash_numeric_code(&mut store, &PEPPER[..10], "c", "123456")?,
        Err(NumericCodeError::PepperTooShort(10))
    );
    assert_eq!(numeric.call_hash_numeric_code(&mut store, PEPPER, "", "123456")?, Err(NumericCodeError::EmptyBinding));
    assert_eq!(
        numeric.call_hash_numeric_code(&mut store, PEPPER, "c", "12ab56")?,
        Err(NumericCodeError::MalformedCode)
    );
    let verify =
        |store: &mut Store<HostState>, pepper: &[u8], binding: &str, digits: u8, input: &str, stored: &[u8]| {
            numeric.call_verify_numeric_code(store, pepper, binding, digits, input, stored)
        };
    assert_eq!(verify(&mut store, &PEPPER[..15], "c", 6, "123456", &hash)?, Err(NumericCodeError::PepperTooShort(15)));
    assert_eq!(verify(&mut store, PEPPER, "", 6, "123456", &hash)?, Err(NumericCodeError::EmptyBinding));
    assert_eq!(verify(&mut store, PEPPER, "c", 3, "123", &hash)?, Err(NumericCodeError::InvalidDigits(3)));
    assert_eq!(verify(&mut store, PEPPER, "c", 11, "12345678901", &hash)?, Err(NumericCodeError::InvalidDigits(11)));
    let mut m = Mismatches::default();
    for bad in ["12345", "1234567", "12345a", "", "１２３４５６", "123_456"] {
        check!(m, verify(&mut store, PEPPER, "c", 6, bad, &hash)?, Err(NumericCodeError::MalformedCode), "{bad:?}");
    }
    assert_eq!(verify(&mut store, PEPPER, "c", 6, "123456", &hash[..31])?, Err(NumericCodeError::CorruptHash));
    assert_eq!(verify(&mut store, PEPPER, "c", 6, "123456", &[])?, Err(NumericCodeError::CorruptHash));
    m.finish();
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// phone
// ---------------------------------------------------------------------------------------------------------------

fn number(e164: &str, country_code: &str) -> PhoneNumber {
    PhoneNumber { e164: e164.to_string(), country_code: country_code.to_string() }
}

#[test]
fn normalize_phone_gives_e164_and_country_code() -> Result<()> {
    let (mut store, core) = instance()?;
    let cases = [
        ("+14155552671", number("+14155552671", "+1")),
        ("+1 (415) 555-2671", number("+14155552671", "+1")),
        ("+ 1 415 555 2671", number("+14155552671", "+1")),
        ("+44 20 7946 0958", number("+442079460958", "+44")),
        ("+358 40 123 4567", number("+358401234567", "+358")),
        ("+49.30.1234567", number("+49301234567", "+49")),
        ("+7 912 345-67-89", number("+79123456789", "+7")),
        ("+33 6 12 34 56 78", number("+33612345678", "+33")),
        ("+81-90-1234-5678", number("+819012345678", "+81")),
        ("+1 242 555 0123", number("+12425550123", "+1")),
        ("+1234567", number("+1234567", "+1")),
        ("+123456789012345", number("+123456789012345", "+1")),
    ];
    let mut m = Mismatches::default();
    for (input, expected) in cases {
        check!(m, core.mfa_core_phone().call_normalize_phone(&mut store, input)?, Ok(expected), "{input:?}");
    }
    m.finish();
    Ok(())
}

#[test]
fn normalize_phone_errors() -> Result<()> {
    let (mut store, core) = instance()?;
    let cases = [
        ("", PhoneError::Empty),
        ("   ", PhoneError::Empty),
        ("4155552671", PhoneError::MissingPlus),
        ("(415) 555-2671", PhoneError::MissingPlus),
        ("0044 20 7946 0958", PhoneError::MissingPlus),
        ("+1 415 555 267a", PhoneError::InvalidCharacter),
        ("+1/415/555/2671", PhoneError::InvalidCharacter),
        ("+1 415 555 2671 ext. 5", PhoneError::InvalidCharacter),
        ("+44 20 7946 0958 +", PhoneError::InvalidCharacter),
        ("+٤٤٢٠٧٩٤٦٠٩٥٨", PhoneError::InvalidCharacter),
        ("+0123456789", PhoneError::LeadingZero),
        ("+1415", PhoneError::TooShort),
        ("+123456", PhoneError::TooShort),
        ("+", PhoneError::TooShort),
        ("+1234567890123456", PhoneError::TooLong),
        ("+44 20 7946 0958 1234", PhoneError::TooLong),
        ("+2801234567", PhoneError::UnknownCountryCode),
        ("+9991234567", PhoneError::UnknownCountryCode),
    ];
    let mut m = Mismatches::default();
    for (input, error) in cases {
        check!(m, core.mfa_core_phone().call_normalize_phone(&mut store, input)?, Err(error), "{input:?}");
    }
    m.finish();
    Ok(())
}
