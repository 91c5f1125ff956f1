//! `otpauth://` URIs in the [Key URI Format] that authenticator apps read from QR codes.
//!
//! Building percent-encodes every character outside RFC 3986's unreserved set, so names with spaces, `@`, `:` or
//! any Unicode survive, and always writes every parameter, so a URI built here parses back to the same key and
//! builds again to the same text. Parsing also accepts what other issuers write: `%3A` as the label separator,
//! spaces after it, parameters in any order, unknown parameters.
//!
//! [Key URI Format]: https://github.com/google/google-authenticator/wiki/Key-Uri-Format

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use crate::otp::{self, Algorithm, OtpError, TotpParams};
use crate::secrets::{self, Base32Error};

/// Everything outside RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`) is percent-encoded.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
/// The longest URI accepted, in bytes.
pub const MAX_URI_LEN: usize = 4096;
const SCHEME: &str = "otpauth://";

/// Everything an authenticator app needs to enroll a TOTP factor.
#[derive(Clone, PartialEq, Eq)]
pub struct OtpauthKey {
    /// The service's name, if any.
    pub issuer: Option<String>,
    /// The account (usually an email address).
    pub account: String,
    /// The raw shared secret.
    pub secret: Vec<u8>,
    /// Algorithm, digits and period.
    pub params: TotpParams,
}

impl std::fmt::Debug for OtpauthKey {
    /// Everything but the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtpauthKey")
            .field("issuer", &self.issuer)
            .field("account", &self.account)
            .field("secret", &"<redacted>")
            .field("params", &self.params)
            .finish()
    }
}

/// Why a key cannot become a URI, or a text is not a usable otpauth URI.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    /// Not `otpauth://`.
    #[error("not an otpauth:// URI")]
    NotOtpauth,
    /// A type other than `totp`.
    #[error("unsupported OTP type {0:?}; only totp is enrolled")]
    UnsupportedType(String),
    /// No account name in the label.
    #[error("the label has no account name")]
    MissingAccount,
    /// An empty, untrimmed or control-character issuer or account.
    #[error("the issuer or account is blank, untrimmed or contains a control character")]
    InvalidLabel,
    /// A bad `%` escape or non-UTF-8 bytes.
    #[error("malformed percent-encoding")]
    InvalidPercentEncoding,
    /// No `secret` parameter.
    #[error("the secret parameter is missing")]
    MissingSecret,
    /// The secret is not Base32.
    #[error("the secret is not valid Base32: {0}")]
    InvalidSecret(Base32Error),
    /// The secret is not 128 to 512 bits long.
    #[error("the secret has {0} bits; 128 to 512 are allowed")]
    InvalidSecretLength(u32),
    /// The label's issuer and the `issuer` parameter differ.
    #[error("the issuer in the label differs from the issuer parameter")]
    IssuerMismatch,
    /// An unknown algorithm.
    #[error("unsupported algorithm {0:?}")]
    InvalidAlgorithm(String),
    /// Digits other than 6 or 8.
    #[error("digits must be 6 or 8, not {0:?}")]
    InvalidDigits(String),
    /// A period outside 15..=120.
    #[error("the period must be 15 to 120 seconds, not {0:?}")]
    InvalidPeriod(String),
    /// A parameter given twice.
    #[error("parameter {0:?} appears twice")]
    DuplicateParameter(String),
    /// Over [`MAX_URI_LEN`] bytes.
    #[error("the URI is too long")]
    TooLong,
}

/// The otpauth URI for `key`.
pub fn build_uri(key: &OtpauthKey) -> Result<String, UriError> {
    if let Some(issuer) = &key.issuer {
        validate_name(issuer)?;
    }
    validate_name(&key.account)?;
    check_secret_length(&key.secret)?;
    key.params.validate().map_err(|error| params_error(error, &key.params))?;

    let account = utf8_percent_encode(&key.account, COMPONENT);
    let secret = secrets::encode_base32(&key.secret);
    let TotpParams { algorithm, digits, period } = key.params;
    let algorithm = algorithm.uri_name();
    let uri = match &key.issuer {
        Some(issuer) => {
            let issuer = utf8_percent_encode(issuer, COMPONENT);
            format!(
                "{SCHEME}totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm={algorithm}&digits={digits}&period={period}"
            )
        }
        None => format!("{SCHEME}totp/{account}?secret={secret}&algorithm={algorithm}&digits={digits}&period={period}"),
    };
    // Refuse what `parse_uri` would refuse, so every built URI reads back.
    if uri.len() > MAX_URI_LEN {
        return Err(UriError::TooLong);
    }
    Ok(uri)
}

/// Reads an otpauth URI.
pub fn parse_uri(uri: &str) -> Result<OtpauthKey, UriError> {
    if uri.len() > MAX_URI_LEN {
        return Err(UriError::TooLong);
    }
    let rest = strip_prefix_ignore_case(uri, SCHEME).ok_or(UriError::NotOtpauth)?;
    let rest = rest.split_once('#').map_or(rest, |(before, _fragment)| before);
    let (kind, rest) = split_at_any(rest, &['/', '?']);
    if !kind.eq_ignore_ascii_case("totp") {
        return Err(UriError::UnsupportedType(decode(kind).unwrap_or_else(|_| kind.to_owned())));
    }
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    let (label, query) = rest.split_once('?').unwrap_or((rest, ""));
    let params = Parameters::parse(query)?;
    let (label_issuer, account) = parse_label(label, params.issuer.as_deref())?;

    let issuer = match (label_issuer, params.issuer) {
        (Some(label), Some(param)) if label != param => return Err(UriError::IssuerMismatch),
        (label, param) => label.or(param),
    };
    let secret_text = params.secret.ok_or(UriError::MissingSecret)?;
    let secret = secrets::decode_base32(&secret_text).map_err(UriError::InvalidSecret)?;
    check_secret_length(&secret)?;

    let defaults = TotpParams::default();
    let algorithm = match params.algorithm {
        Some(name) => Algorithm::from_uri_name(&name).ok_or(UriError::InvalidAlgorithm(name))?,
        None => defaults.algorithm,
    };
    let digits = match params.digits {
        Some(text) => match text.as_str() {
            "6" => 6,
            "8" => 8,
            _ => return Err(UriError::InvalidDigits(text)),
        },
        None => defaults.digits,
    };
    let period = match params.period {
        Some(text) => match text.parse::<u32>() {
            Ok(period) if (otp::MIN_PERIOD..=otp::MAX_PERIOD).contains(&period) => period,
            _ => return Err(UriError::InvalidPeriod(text)),
        },
        None => defaults.period,
    };
    Ok(OtpauthKey { issuer, account, secret, params: TotpParams { algorithm, digits, period } })
}

/// Splits the raw label into issuer and account on the first literal `:`; failing that, on the first `%3A` when
/// what precedes it is the `issuer` parameter (so an issuer-less account with an encoded colon stays whole).
fn parse_label(label: &str, issuer_param: Option<&str>) -> Result<(Option<String>, String), UriError> {
    let encoded_split = || {
        let at = find_ignore_case(label, "%3A")?;
        let (issuer, account) = (label.get(..at)?, label.get(at + 3..)?);
        (decode(issuer).ok()?.trim() == issuer_param?).then_some((issuer, account))
    };
    let (issuer, account) = match label.split_once(':').or_else(encoded_split) {
        Some((issuer, account)) => (Some(decode_name(issuer)?), account),
        None => (None, label),
    };
    let account = decode(account)?.trim().to_owned();
    if account.is_empty() {
        return Err(UriError::MissingAccount);
    }
    validate_name(&account)?;
    Ok((issuer, account))
}

/// The parameters this module reads; unknown ones are ignored.
#[derive(Default)]
struct Parameters {
    secret: Option<String>,
    issuer: Option<String>,
    algorithm: Option<String>,
    digits: Option<String>,
    period: Option<String>,
}

impl Parameters {
    fn parse(query: &str) -> Result<Self, UriError> {
        let mut parameters = Self::default();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = decode(name)?.to_ascii_lowercase();
            let slot = match name.as_str() {
                "secret" => &mut parameters.secret,
                "issuer" => &mut parameters.issuer,
                "algorithm" => &mut parameters.algorithm,
                "digits" => &mut parameters.digits,
                "period" => &mut parameters.period,
                _ => continue,
            };
            if slot.is_some() {
                return Err(UriError::DuplicateParameter(name));
            }
            *slot = Some(if name == "issuer" { decode_name(value)? } else { decode(value)? });
        }
        Ok(parameters)
    }
}

/// Percent-decodes a name and trims it; it must then be a valid name.
fn decode_name(raw: &str) -> Result<String, UriError> {
    let name = decode(raw)?.trim().to_owned();
    validate_name(&name)?;
    Ok(name)
}

/// A name is non-empty, trimmed and free of control characters.
fn validate_name(name: &str) -> Result<(), UriError> {
    if name.is_empty() || name.trim() != name || name.chars().any(char::is_control) {
        return Err(UriError::InvalidLabel);
    }
    Ok(())
}

/// Strict percent-decoding: every `%` starts two hex digits, and the result is UTF-8.
fn decode(raw: &str) -> Result<String, UriError> {
    let bytes = raw.as_bytes();
    for (index, byte) in bytes.iter().enumerate() {
        if *byte == b'%' {
            let escape = bytes.get(index + 1..index + 3).ok_or(UriError::InvalidPercentEncoding)?;
            if !escape.iter().all(u8::is_ascii_hexdigit) {
                return Err(UriError::InvalidPercentEncoding);
            }
        }
    }
    percent_decode_str(raw)
        .decode_utf8()
        .map(|decoded| decoded.into_owned())
        .map_err(|_| UriError::InvalidPercentEncoding)
}

fn check_secret_length(secret: &[u8]) -> Result<(), UriError> {
    otp::validate_secret(secret)
        .map_err(|_| UriError::InvalidSecretLength(u32::try_from(secret.len().saturating_mul(8)).unwrap_or(u32::MAX)))
}

/// Maps a parameter error to the URI error that names the value.
fn params_error(error: OtpError, params: &TotpParams) -> UriError {
    match error {
        OtpError::InvalidPeriod(_) => UriError::InvalidPeriod(params.period.to_string()),
        _ => UriError::InvalidDigits(params.digits.to_string()),
    }
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| text.get(prefix.len()..)).flatten()
}

/// Splits `text` before the first of `separators`, which stays at the start of the rest.
fn split_at_any<'a>(text: &'a str, separators: &[char]) -> (&'a str, &'a str) {
    text.find(separators).map_or((text, ""), |at| text.split_at(at))
}

fn find_ignore_case(text: &str, needle: &str) -> Option<usize> {
    text.as_bytes().windows(needle.len()).position(|window| window.eq_ignore_ascii_case(needle.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SECRET: &[u8] = b"12345678901234567890";

    fn key(issuer: Option<&str>, account: &str) -> OtpauthKey {
        OtpauthKey {
            issuer: issuer.map(str::to_owned),
            account: account.to_owned(),
            secret: SECRET.to_vec(),
            params: TotpParams::default(),
        }
    }

    #[test]
    fn builds_the_key_uri_format() {
        assert_eq!(
            build_uri(&key(Some("Example Co"), "alice@example.com")).unwrap(),
            "otpauth://totp/Example%20Co:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=Example%20Co&algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(
            build_uri(&key(None, "bob")).unwrap(),
            "otpauth://totp/bob?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn names_with_spaces_at_signs_colons_and_unicode_round_trip_exactly() {
        for (issuer, account) in [
            (Some("ACME: Widgets & Co"), "alice@example.com"),
            (Some("Zürich Bank"), "jörg:müller@example.ch"),
            (Some("東京"), "ユーザー 1"),
            (None, "a:b"),
            (Some("a+b=c?d/e#f%g"), "100% sure"),
        ] {
            let original = OtpauthKey {
                params: TotpParams { algorithm: Algorithm::Sha512, digits: 8, period: 60 },
                ..key(issuer, account)
            };
            let uri = build_uri(&original).unwrap();
            let parsed = parse_uri(&uri).unwrap();
            assert_eq!(parsed, original, "{uri}");
            assert_eq!(build_uri(&parsed).unwrap(), uri);
        }
    }

    #[test]
    fn reads_uris_written_by_other_issuers() {
        let parsed =
            parse_uri("otpauth://totp/ACME%20Co%3A%20john.doe%40email.com?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30").unwrap();
        assert_eq!(parsed.issuer.as_deref(), Some("ACME Co"));
        assert_eq!(parsed.account, "john.doe@email.com");

        let parsed =
            parse_uri("OTPAUTH://TOTP/Example:alice@google.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&image=x")
                .unwrap();
        assert_eq!(parsed.issuer.as_deref(), Some("Example"));
        assert_eq!(parsed.account, "alice@google.com");

        // Without an issuer parameter an encoded colon is part of the account, not a separator.
        let parsed = parse_uri("otpauth://totp/ACME%3Ajohn?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP").unwrap();
        assert_eq!((parsed.issuer, parsed.account.as_str()), (None, "ACME:john"));
        assert_eq!(parsed.params, TotpParams::default());

        let parsed = parse_uri(
            "otpauth://totp/alice?issuer=Example&secret=jbswy3dpehpk3pxpjbswy3dpehpk3pxp&algorithm=sha256#frag",
        )
        .unwrap();
        assert_eq!(parsed.issuer.as_deref(), Some("Example"));
        assert_eq!(parsed.params.algorithm, Algorithm::Sha256);
    }

    #[test]
    fn bad_uris_get_typed_errors() {
        let s = "secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
        let cases: Vec<(String, UriError)> = vec![
            ("https://example.com".into(), UriError::NotOtpauth),
            (format!("otpauth://hotp/a?{s}&counter=1"), UriError::UnsupportedType("hotp".into())),
            (format!("otpauth://totp?{s}"), UriError::MissingAccount),
            (format!("otpauth://totp/Issuer:?{s}"), UriError::MissingAccount),
            (format!("otpauth://totp/:alice?{s}"), UriError::InvalidLabel),
            (format!("otpauth://totp/a%0Ab?{s}"), UriError::InvalidLabel),
            (format!("otpauth://totp/a%zzb?{s}"), UriError::InvalidPercentEncoding),
            (format!("otpauth://totp/a%ff?{s}"), UriError::InvalidPercentEncoding),
            (format!("otpauth://totp/a%2?{s}"), UriError::InvalidPercentEncoding),
            ("otpauth://totp/a?issuer=X".into(), UriError::MissingSecret),
            ("otpauth://totp/a?secret=JBSW1".into(), UriError::InvalidSecret(Base32Error::InvalidCharacter(4))),
            ("otpauth://totp/a?secret=JBSWY3DPEHPK3PXP".into(), UriError::InvalidSecretLength(80)),
            (format!("otpauth://totp/A:a?{s}&issuer=B"), UriError::IssuerMismatch),
            (format!("otpauth://totp/a?{s}&algorithm=MD5"), UriError::InvalidAlgorithm("MD5".into())),
            (format!("otpauth://totp/a?{s}&digits=7"), UriError::InvalidDigits("7".into())),
            (format!("otpauth://totp/a?{s}&period=10"), UriError::InvalidPeriod("10".into())),
            (format!("otpauth://totp/a?{s}&period=x"), UriError::InvalidPeriod("x".into())),
            (format!("otpauth://totp/a?{s}&{s}"), UriError::DuplicateParameter("secret".into())),
            (format!("otpauth://totp/{}?{s}", "a".repeat(MAX_URI_LEN)), UriError::TooLong),
        ];
        for (uri, expected) in cases {
            assert_eq!(parse_uri(&uri), Err(expected), "{uri}");
        }
    }

    #[test]
    fn keys_that_cannot_be_written_are_refused() {
        assert_eq!(build_uri(&key(Some(""), "a")), Err(UriError::InvalidLabel));
        assert_eq!(build_uri(&key(None, " a")), Err(UriError::InvalidLabel));
        assert_eq!(build_uri(&key(None, "a\u{7}")), Err(UriError::InvalidLabel));
        assert_eq!(build_uri(&key(None, &"a".repeat(MAX_URI_LEN))), Err(UriError::TooLong));
        assert_eq!(
            build_uri(&OtpauthKey { secret: vec![1; 10], ..key(None, "a") }),
            Err(UriError::InvalidSecretLength(80))
        );
        let mut bad = key(None, "a");
        bad.params.digits = 7;
        assert_eq!(build_uri(&bad), Err(UriError::InvalidDigits("7".into())));
        bad.params = TotpParams { period: 121, ..TotpParams::default() };
        assert_eq!(build_uri(&bad), Err(UriError::InvalidPeriod("121".into())));
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let text = format!("{:?}", key(Some("X"), "a"));
        assert!(text.contains("<redacted>"));
        assert!(!text.contains("49, 50"));
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
            let _ = parse_uri(&text);
            let _ = parse_uri(&format!("otpauth://totp/{text}"));
            let _ = parse_uri(&format!("otpauth://totp/a?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&{text}"));
        }

        #[test]
        fn every_valid_key_round_trips(
            issuer in proptest::option::of("[^\\p{Cc}]{1,20}"),
            account in "[^\\p{Cc}]{1,30}",
            secret in proptest::collection::vec(any::<u8>(), 16..=64),
            digits in proptest::sample::select(vec![6u8, 8]),
            period in 15u32..=120,
        ) {
            let issuer = issuer.map(|i| i.trim().to_owned()).filter(|i| !i.is_empty());
            let account = account.trim().to_owned();
            prop_assume!(!account.is_empty());
            let original = OtpauthKey { issuer, account, secret, params: TotpParams { algorithm: Algorithm::Sha256, digits, period } };
            let uri = build_uri(&original).unwrap();
            let parsed = parse_uri(&uri).unwrap();
            prop_assert_eq!(&parsed, &original);
            prop_assert_eq!(build_uri(&parsed).unwrap(), uri);
        }
    }
}
