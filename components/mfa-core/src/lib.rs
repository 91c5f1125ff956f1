//! mfa-core: pure MFA primitives as a WebAssembly component (world `mfa:core/mfa-core`, see `wit/core/`).
//!
//! Each WIT interface has a plain module holding its types and logic, with time and randomness passed in so it is
//! unit-tested natively: [`otp`], [`secrets`], [`otpauth`], [`qr`], [`backup_codes`], [`numeric_codes`], [`phone`],
//! [`webauthn`] (and [`keyed_hash`], shared by the code stores). This file only holds the generated bindings and the
//! `Guest` implementations, which convert the WIT types (in `convert`) and delegate. Randomness comes from
//! [`rand::rngs::OsRng`], which on `wasm32-wasip2` reads `wasi:random`. Secrets and peppers received over WIT are
//! zeroized when the call returns.

pub mod backup_codes;
pub mod keyed_hash;
pub mod numeric_codes;
pub mod otp;
pub mod otpauth;
pub mod phone;
pub mod qr;
pub mod secrets;
pub mod webauthn;

mod convert;

/// Generated bindings and the export glue: the only place `unsafe` (generated ABI code) is allowed.
#[allow(missing_docs, unsafe_code, clippy::all)]
mod bindings {
    wit_bindgen::generate!({ world: "mfa-core", path: "../../wit/core" });

    // The export symbols (`mfa:core/otp@0.1.0#...`) only link into a Wasm module; native builds (the unit tests)
    // skip them.
    #[cfg(target_arch = "wasm32")]
    use super::Component;
    #[cfg(target_arch = "wasm32")]
    export!(Component with_types_in self);
}

use bindings::exports::mfa::core::{
    backup_codes as wit_backup, numeric_codes as wit_numeric, otp as wit_otp, otpauth as wit_otpauth,
    phone as wit_phone, qr as wit_qr, secrets as wit_secrets, webauthn as wit_webauthn,
};
use rand::{TryRngCore, rngs::OsRng};
use zeroize::Zeroizing;

/// The component: every exported interface is implemented on it.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
struct Component;

/// The host's secure random source (`wasi:random/random` under Wasm, the OS natively).
fn host_rng() -> impl rand::CryptoRng {
    OsRng.unwrap_err()
}

impl wit_otp::Guest for Component {
    fn default_totp_params() -> wit_otp::TotpParams {
        otp::TotpParams::default().into()
    }

    fn hotp_generate(
        secret: Vec<u8>,
        counter: u64,
        algorithm: wit_otp::Algorithm,
        digits: u8,
    ) -> Result<String, wit_otp::OtpError> {
        Ok(otp::hotp_generate(&Zeroizing::new(secret), counter, algorithm.into(), digits)?)
    }

    fn hotp_verify(
        secret: Vec<u8>,
        code: String,
        counter: u64,
        look_ahead: u32,
        algorithm: wit_otp::Algorithm,
        digits: u8,
    ) -> Result<Option<u64>, wit_otp::OtpError> {
        Ok(otp::hotp_verify(&Zeroizing::new(secret), &code, counter, look_ahead, algorithm.into(), digits)?)
    }

    fn totp_step(params: wit_otp::TotpParams, now: u64) -> Result<u64, wit_otp::OtpError> {
        Ok(otp::totp_step(&params.into(), now)?)
    }

    fn totp_generate(secret: Vec<u8>, params: wit_otp::TotpParams, now: u64) -> Result<String, wit_otp::OtpError> {
        Ok(otp::totp_generate(&Zeroizing::new(secret), &params.into(), now)?)
    }

    fn totp_verify(
        secret: Vec<u8>,
        params: wit_otp::TotpParams,
        code: String,
        now: u64,
        window: u32,
        last_accepted_step: Option<u64>,
    ) -> Result<wit_otp::TotpVerdict, wit_otp::OtpError> {
        Ok(match otp::totp_verify(&Zeroizing::new(secret), &params.into(), &code, now, window, last_accepted_step)? {
            otp::TotpVerdict::Accepted(step) => wit_otp::TotpVerdict::Accepted(step),
            otp::TotpVerdict::Replayed(step) => wit_otp::TotpVerdict::Replayed(step),
            otp::TotpVerdict::Rejected => wit_otp::TotpVerdict::Rejected,
        })
    }
}

impl wit_secrets::Guest for Component {
    fn generate_secret(bits: u32) -> Result<Vec<u8>, wit_secrets::SecretError> {
        secrets::generate_secret(bits, &mut host_rng())
            .map_err(|secrets::SecretError::InvalidSize(bits)| wit_secrets::SecretError::InvalidSize(bits))
    }

    fn encode_base32(bytes: Vec<u8>) -> String {
        secrets::encode_base32(&bytes)
    }

    fn decode_base32(text: String) -> Result<Vec<u8>, wit_secrets::Base32Error> {
        Ok(secrets::decode_base32(&text)?)
    }
}

impl wit_otpauth::Guest for Component {
    fn build_uri(key: wit_otpauth::OtpauthKey) -> Result<String, wit_otpauth::UriError> {
        let key = otpauth::OtpauthKey {
            issuer: key.issuer,
            account: key.account,
            secret: key.secret,
            params: key.params.into(),
        };
        Ok(otpauth::build_uri(&key)?)
    }

    fn parse_uri(uri: String) -> Result<wit_otpauth::OtpauthKey, wit_otpauth::UriError> {
        let otpauth::OtpauthKey { issuer, account, secret, params } = otpauth::parse_uri(&uri)?;
        Ok(wit_otpauth::OtpauthKey { issuer, account, secret, params: params.into() })
    }
}

impl wit_qr::Guest for Component {
    fn render_svg(text: String) -> Result<String, wit_qr::QrError> {
        Ok(qr::render_svg(&text)?)
    }

    fn render_png(text: String, scale: u32) -> Result<Vec<u8>, wit_qr::QrError> {
        Ok(qr::render_png(&text, scale)?)
    }
}

impl wit_backup::Guest for Component {
    fn generate_backup_codes(count: u32) -> Result<Vec<String>, wit_backup::BackupCodeError> {
        Ok(backup_codes::generate(count, &mut host_rng())?)
    }

    fn normalize_backup_code(input: String) -> Result<String, wit_backup::BackupCodeError> {
        Ok(backup_codes::normalize(&input)?)
    }

    fn hash_backup_code(pepper: Vec<u8>, code: String) -> Result<wit_backup::HashedCode, wit_backup::BackupCodeError> {
        let hashed = backup_codes::hash(&Zeroizing::new(pepper), &code, &mut host_rng())?;
        Ok(wit_backup::HashedCode { salt: hashed.salt, hash: hashed.hash })
    }

    fn verify_backup_code(
        pepper: Vec<u8>,
        input: String,
        stored: Vec<wit_backup::HashedCode>,
    ) -> Result<Option<u32>, wit_backup::BackupCodeError> {
        let stored: Vec<backup_codes::HashedCode> =
            stored.into_iter().map(|entry| backup_codes::HashedCode { salt: entry.salt, hash: entry.hash }).collect();
        Ok(backup_codes::verify(&Zeroizing::new(pepper), &input, &stored)?)
    }
}

impl wit_numeric::Guest for Component {
    fn generate_numeric_code(digits: u8) -> Result<String, wit_numeric::NumericCodeError> {
        Ok(numeric_codes::generate(digits, &mut host_rng())?)
    }

    fn hash_numeric_code(
        pepper: Vec<u8>,
        binding: String,
        code: String,
    ) -> Result<Vec<u8>, wit_numeric::NumericCodeError> {
        Ok(numeric_codes::hash(&Zeroizing::new(pepper), &binding, &code)?)
    }

    fn verify_numeric_code(
        pepper: Vec<u8>,
        binding: String,
        digits: u8,
        input: String,
        stored_hash: Vec<u8>,
    ) -> Result<bool, wit_numeric::NumericCodeError> {
        Ok(numeric_codes::verify(&Zeroizing::new(pepper), &binding, digits, &input, &stored_hash)?)
    }
}

impl wit_phone::Guest for Component {
    fn normalize_phone(input: String) -> Result<wit_phone::PhoneNumber, wit_phone::PhoneError> {
        let number = phone::normalize(&input)?;
        Ok(wit_phone::PhoneNumber { e164: number.e164, country_code: number.country_code })
    }
}

impl wit_webauthn::Guest for Component {
    fn read_client_data(client_data_json: Vec<u8>) -> Result<wit_webauthn::ClientData, wit_webauthn::WebauthnError> {
        Ok(webauthn::read_client_data(&client_data_json)?.into())
    }

    fn verify_registration(
        rp: wit_webauthn::RelyingParty,
        challenge: String,
        client_data_json: Vec<u8>,
        attestation_object: Vec<u8>,
    ) -> Result<wit_webauthn::Registration, wit_webauthn::WebauthnError> {
        Ok(webauthn::verify_registration(&rp.into(), &challenge, &client_data_json, &attestation_object)?.into())
    }

    fn verify_assertion(
        rp: wit_webauthn::RelyingParty,
        challenge: String,
        credential: wit_webauthn::StoredCredential,
        client_data_json: Vec<u8>,
        authenticator_data: Vec<u8>,
        signature: Vec<u8>,
    ) -> Result<wit_webauthn::Assertion, wit_webauthn::WebauthnError> {
        let assertion = webauthn::verify_assertion(
            &rp.into(),
            &challenge,
            &credential.into(),
            &client_data_json,
            &authenticator_data,
            &signature,
        )?;
        Ok(assertion.into())
    }
}
