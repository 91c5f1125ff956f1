//! Conversions between the types generated from `wit/core` and the plain Rust types of each interface's module.
//!
//! Every conversion is a field-for-field or case-for-case copy: no logic lives here.

use crate::bindings::exports::mfa::core::{
    backup_codes as wit_backup, numeric_codes as wit_numeric, otp as wit_otp, otpauth as wit_otpauth,
    phone as wit_phone, qr as wit_qr, secrets as wit_secrets,
};
use crate::{backup_codes, keyed_hash, numeric_codes, otp, otpauth, phone, qr, secrets};

impl From<wit_otp::Algorithm> for otp::Algorithm {
    fn from(algorithm: wit_otp::Algorithm) -> Self {
        match algorithm {
            wit_otp::Algorithm::Sha1 => Self::Sha1,
            wit_otp::Algorithm::Sha256 => Self::Sha256,
            wit_otp::Algorithm::Sha512 => Self::Sha512,
        }
    }
}

impl From<otp::Algorithm> for wit_otp::Algorithm {
    fn from(algorithm: otp::Algorithm) -> Self {
        match algorithm {
            otp::Algorithm::Sha1 => Self::Sha1,
            otp::Algorithm::Sha256 => Self::Sha256,
            otp::Algorithm::Sha512 => Self::Sha512,
        }
    }
}

impl From<wit_otp::TotpParams> for otp::TotpParams {
    fn from(params: wit_otp::TotpParams) -> Self {
        Self { algorithm: params.algorithm.into(), digits: params.digits, period: params.period }
    }
}

impl From<otp::TotpParams> for wit_otp::TotpParams {
    fn from(params: otp::TotpParams) -> Self {
        Self { algorithm: params.algorithm.into(), digits: params.digits, period: params.period }
    }
}

impl From<otp::OtpError> for wit_otp::OtpError {
    fn from(error: otp::OtpError) -> Self {
        match error {
            otp::OtpError::InvalidDigits(digits) => Self::InvalidDigits(digits),
            otp::OtpError::InvalidPeriod(period) => Self::InvalidPeriod(period),
            otp::OtpError::SecretTooShort(bits) => Self::SecretTooShort(bits),
            otp::OtpError::SecretTooLong(bits) => Self::SecretTooLong(bits),
            otp::OtpError::WindowTooLarge(window) => Self::WindowTooLarge(window),
            otp::OtpError::MalformedCode => Self::MalformedCode,
        }
    }
}

impl From<secrets::Base32Error> for wit_secrets::Base32Error {
    fn from(error: secrets::Base32Error) -> Self {
        match error {
            secrets::Base32Error::Empty => Self::Empty,
            secrets::Base32Error::InvalidCharacter(position) => Self::InvalidCharacter(position),
            secrets::Base32Error::InvalidLength => Self::InvalidLength,
            secrets::Base32Error::NonZeroTrailingBits => Self::NonZeroTrailingBits,
            secrets::Base32Error::MisplacedPadding => Self::MisplacedPadding,
            secrets::Base32Error::TooLong => Self::TooLong,
        }
    }
}

impl From<otpauth::UriError> for wit_otpauth::UriError {
    fn from(error: otpauth::UriError) -> Self {
        use otpauth::UriError as E;
        match error {
            E::NotOtpauth => Self::NotOtpauth,
            E::UnsupportedType(kind) => Self::UnsupportedType(kind),
            E::MissingAccount => Self::MissingAccount,
            E::InvalidLabel => Self::InvalidLabel,
            E::InvalidPercentEncoding => Self::InvalidPercentEncoding,
            E::MissingSecret => Self::MissingSecret,
            E::InvalidSecret(error) => Self::InvalidSecret(error.into()),
            E::InvalidSecretLength(bits) => Self::InvalidSecretLength(bits),
            E::IssuerMismatch => Self::IssuerMismatch,
            E::InvalidAlgorithm(name) => Self::InvalidAlgorithm(name),
            E::InvalidDigits(digits) => Self::InvalidDigits(digits),
            E::InvalidPeriod(period) => Self::InvalidPeriod(period),
            E::DuplicateParameter(name) => Self::DuplicateParameter(name),
            E::TooLong => Self::TooLong,
        }
    }
}

impl From<qr::QrError> for wit_qr::QrError {
    fn from(error: qr::QrError) -> Self {
        match error {
            qr::QrError::DataTooLong => Self::DataTooLong,
            qr::QrError::InvalidScale(scale) => Self::InvalidScale(scale),
            qr::QrError::ImageEncodingFailed => Self::ImageEncodingFailed,
        }
    }
}

impl From<backup_codes::BackupCodeError> for wit_backup::BackupCodeError {
    fn from(error: backup_codes::BackupCodeError) -> Self {
        use backup_codes::BackupCodeError as E;
        match error {
            E::InvalidCount(count) => Self::InvalidCount(count),
            E::PepperTooShort(keyed_hash::PepperTooShort(length)) => Self::PepperTooShort(length),
            E::MalformedCode => Self::MalformedCode,
            E::CorruptEntry(index) => Self::CorruptEntry(index),
        }
    }
}

impl From<numeric_codes::NumericCodeError> for wit_numeric::NumericCodeError {
    fn from(error: numeric_codes::NumericCodeError) -> Self {
        use numeric_codes::NumericCodeError as E;
        match error {
            E::InvalidDigits(digits) => Self::InvalidDigits(digits),
            E::PepperTooShort(keyed_hash::PepperTooShort(length)) => Self::PepperTooShort(length),
            E::EmptyBinding => Self::EmptyBinding,
            E::MalformedCode => Self::MalformedCode,
            E::CorruptHash => Self::CorruptHash,
        }
    }
}

impl From<phone::PhoneError> for wit_phone::PhoneError {
    fn from(error: phone::PhoneError) -> Self {
        match error {
            phone::PhoneError::Empty => Self::Empty,
            phone::PhoneError::MissingPlus => Self::MissingPlus,
            phone::PhoneError::InvalidCharacter => Self::InvalidCharacter,
            phone::PhoneError::LeadingZero => Self::LeadingZero,
            phone::PhoneError::TooShort => Self::TooShort,
            phone::PhoneError::TooLong => Self::TooLong,
            phone::PhoneError::UnknownCountryCode => Self::UnknownCountryCode,
        }
    }
}
