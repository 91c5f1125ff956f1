//! Conversions between the types generated from `wit/core` and the plain Rust types of each interface's module.
//!
//! Every conversion is a field-for-field or case-for-case copy: no logic lives here.

use crate::bindings::exports::mfa::core::{
    backup_codes as wit_backup, numeric_codes as wit_numeric, otp as wit_otp, otpauth as wit_otpauth,
    phone as wit_phone, qr as wit_qr, secrets as wit_secrets, webauthn as wit_webauthn,
};
use crate::{backup_codes, keyed_hash, numeric_codes, otp, otpauth, phone, qr, secrets, webauthn};

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

impl From<wit_webauthn::RelyingParty> for webauthn::RelyingParty {
    fn from(rp: wit_webauthn::RelyingParty) -> Self {
        Self { id: rp.id, origins: rp.origins, require_user_verification: rp.require_user_verification }
    }
}

impl From<wit_webauthn::StoredCredential> for webauthn::StoredCredential {
    fn from(credential: wit_webauthn::StoredCredential) -> Self {
        Self { id: credential.id, public_key: credential.public_key, sign_count: credential.sign_count }
    }
}

impl From<webauthn::client_data::ClientData> for wit_webauthn::ClientData {
    fn from(data: webauthn::client_data::ClientData) -> Self {
        Self { ceremony: data.ceremony, challenge: data.challenge, origin: data.origin }
    }
}

impl From<webauthn::Registration> for wit_webauthn::Registration {
    fn from(registration: webauthn::Registration) -> Self {
        Self {
            credential_id: registration.credential_id,
            public_key: registration.public_key,
            algorithm: registration.algorithm,
            sign_count: registration.sign_count,
            aaguid: registration.aaguid.to_vec(),
            user_verified: registration.user_verified,
            backup_eligible: registration.backup_eligible,
            backup_state: registration.backup_state,
            attestation_format: registration.attestation_format,
        }
    }
}

impl From<webauthn::Assertion> for wit_webauthn::Assertion {
    fn from(assertion: webauthn::Assertion) -> Self {
        Self {
            sign_count: assertion.sign_count,
            counter: match assertion.counter {
                webauthn::CounterCheck::Advanced => wit_webauthn::CounterCheck::Advanced,
                webauthn::CounterCheck::Regressed => wit_webauthn::CounterCheck::Regressed,
            },
            user_verified: assertion.user_verified,
            backup_eligible: assertion.backup_eligible,
            backup_state: assertion.backup_state,
        }
    }
}

impl From<webauthn::WebauthnError> for wit_webauthn::WebauthnError {
    fn from(error: webauthn::WebauthnError) -> Self {
        use webauthn::WebauthnError as E;
        match error {
            E::Malformed(what) => Self::Malformed(what),
            E::WrongCeremony => Self::WrongCeremony,
            E::ChallengeMismatch => Self::ChallengeMismatch,
            E::OriginNotAllowed(origin) => Self::OriginNotAllowed(origin),
            E::CrossOrigin => Self::CrossOrigin,
            E::RpIdMismatch => Self::RpIdMismatch,
            E::UserNotPresent => Self::UserNotPresent,
            E::UserNotVerified => Self::UserNotVerified,
            E::BackupFlagsInvalid => Self::BackupFlagsInvalid,
            E::UnsupportedAlgorithm(algorithm) => Self::UnsupportedAlgorithm(algorithm),
            E::UnsupportedAttestation(format) => Self::UnsupportedAttestation(format),
            E::BadSignature => Self::BadSignature,
        }
    }
}
