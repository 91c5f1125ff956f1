//! The one mapping from the domain's errors to HTTP: each [`Error`] becomes a status, a stable snake_case error
//! code and a message for humans (and, where HTTP says so, `Retry-After` or `WWW-Authenticate`). Failures of the
//! service itself (storage, configuration) are logged here with the request they failed, never with its data.

use serde_json::json;

use super::Reply;
use crate::domain::error::Error;
use crate::domain::password::PasswordError;

/// The `Retry-After` of a storage failure, in seconds.
const STORAGE_RETRY_SECONDS: u32 = 5;

/// The answer to `error`, which failed the request `during` (e.g. `POST /v1/login`, for the log).
pub fn reply(error: &Error, during: &str) -> Reply {
    let (status, code, message): (u16, &str, String) = match error {
        Error::Unauthenticated => {
            return unauthenticated("a valid session token is required");
        }
        Error::SessionEnded => return unauthenticated("this session has ended"),
        Error::CsrfInvalid => (
            403,
            "csrf_token_invalid",
            "a request authenticated by the session cookie must send the session's X-CSRF-Token header".into(),
        ),
        Error::StepUpRequired => {
            (403, "step_up_required", "confirm who you are again (step-up) before this change".into())
        }
        Error::MfaEnrollmentRequired => (
            403,
            "mfa_enrollment_required",
            "this account must add a second factor (POST /v1/mfa/totp or /v1/mfa/sms) before anything else".into(),
        ),
        Error::ServiceApiDisabled => {
            (401, "unauthorized", "the service API is disabled: set the api_key variable".into())
        }
        Error::ServiceKeyInvalid => {
            return Reply::error(401, "unauthorized", "a valid service API key is required")
                .with_header("www-authenticate", "Bearer");
        }
        Error::SessionPolicyInvalid(_) => {
            logged(during, error);
            (500, "misconfigured", "the session policy variables are invalid".into())
        }
        Error::ThrottlesInvalid(_) => {
            logged(during, error);
            (500, "misconfigured", "the throttle variables are invalid".into())
        }
        Error::SmsCapsInvalid(_) => {
            logged(during, error);
            (500, "misconfigured", "the SMS limit variables are invalid".into())
        }
        Error::EnforcementInvalid(_) => {
            logged(during, error);
            (
                500,
                "misconfigured",
                "the MFA enforcement variables (mfa_enforcement, mfa_grace_days, mfa_required_since) are invalid"
                    .into(),
            )
        }
        Error::PasskeysInvalid(_) => {
            logged(during, error);
            (500, "misconfigured", "the passkey variables (webauthn_rp_id, webauthn_origins, ...) are invalid".into())
        }
        Error::PolicyInvalid(policy) => (503, "invalid_policy", policy.to_string()),
        Error::EncryptionNotConfigured(_) => {
            logged(during, error);
            (503, "encryption_not_configured", "second factors need the encryption_keys variable to be set".into())
        }
        Error::PepperNotConfigured(_) => {
            logged(during, error);
            (503, "code_pepper_not_configured", "second factors need the code_pepper variable to be set".into())
        }
        Error::SmsNotConfigured(_) => (503, "sms_not_configured", "SMS is not configured on this service".into()),
        Error::IssuerInvalid(_) => {
            logged(during, error);
            (500, "misconfigured", "the otpauth URI could not be built (check totp_issuer)".into())
        }
        Error::EncryptionKeyMissing(_) => (503, "encryption_key_missing", "a needed encryption key is gone".into()),
        Error::SecretUnreadable(_) => (500, "secret_unreadable", "this authenticator's secret cannot be read".into()),
        Error::Storage(store) if store.account_gone() => {
            (404, "account_not_found", "this account no longer exists".into())
        }
        Error::Storage(_) => {
            logged(during, error);
            // Nothing was written half-way: the same request can simply be sent again.
            return Reply::error(503, "unavailable", "the service cannot reach its storage")
                .with_header("retry-after", STORAGE_RETRY_SECONDS.to_string());
        }
        Error::StorageConfig(_) => {
            logged(during, error);
            (503, "unavailable", "the service cannot reach its storage".into())
        }
        Error::AccountNotStored(_) => {
            logged(during, error);
            (503, "unavailable", "the account could not be stored".into())
        }
        Error::UserNotReadBack => (503, "unavailable", "the user could not be read back".into()),
        Error::Internal(message) => (500, "internal_error", (*message).into()),
        Error::InvalidEmail(why) => (400, "invalid_email", (*why).into()),
        Error::Password(refused) => (400, password_code(refused), refused.to_string()),
        Error::InvalidName => (400, "invalid_name", "the name must have at most 64 characters, none a control".into()),
        Error::InvalidPhone(why) => {
            (400, "invalid_phone_number", format!("the phone number is not valid E.164: {}", phone_reason(*why)))
        }
        Error::InvalidExternalId => {
            (400, "invalid_external_id", "external_id must have 1 to 255 bytes (UTF-8), no control character".into())
        }
        Error::InvalidField(why) => (400, "invalid_field", (*why).into()),
        Error::UnsupportedMethod(message) => (400, "unsupported_method", message.clone()),
        Error::RegistrationDisabled => {
            (403, "registration_disabled", "registration is disabled on this service".into())
        }
        Error::Throttled(throttled) => {
            let message = format!("too many attempts; try again in {} seconds", throttled.retry_after);
            return Reply::error(429, "too_many_attempts", &message)
                .with_header("retry-after", throttled.retry_after.to_string());
        }
        Error::SecondFactorLocked(seconds) => {
            let message = format!("too many wrong codes: second-factor checks are locked for {seconds} seconds");
            return Reply::error(429, "second_factor_locked", &message).with_header("retry-after", seconds.to_string());
        }
        Error::SecondFactorDisabled => (
            403,
            "second_factor_disabled",
            "too many wrong codes in a row: second-factor checks are disabled until your account is reset".into(),
        ),
        Error::SessionLimitReached => (
            409,
            "session_limit_reached",
            "this account has the maximum number of sessions: log out of one first".into(),
        ),
        Error::InvalidCredentials => (401, "invalid_credentials", "the email or password is wrong".into()),
        Error::WrongPassword => (401, "invalid_credentials", "the password is wrong".into()),
        Error::CurrentPasswordWrong => (403, "current_password_wrong", "the current password is wrong".into()),
        Error::NoPassword => {
            (400, "no_password", "this account has no password: it signs in through the product".into())
        }
        Error::SecondFactorRequired => {
            (400, "second_factor_required", "you have a second factor: step up with it".into())
        }
        Error::PasswordRequired => (400, "password_required", "give your password".into()),
        Error::NoSecondFactorToStepUp => {
            (400, "no_second_factor", "you have no second factor: step up with your password".into())
        }
        Error::NoSecondFactor(message) => (409, "no_second_factor", (*message).into()),
        Error::CodeRefused { code, message, checks_left } => return with_checks_left(401, code, message, *checks_left),
        Error::ConfirmationWrong { message, checks_left } => {
            return with_checks_left(400, "invalid_code", message, *checks_left);
        }
        Error::PasskeyRegistrationRefused { reason, message } => return with_reason(403, message, reason),
        Error::PasskeyRefused { reason, message } => return with_reason(401, message, reason),
        Error::PasskeyAlreadyRegistered => (
            409,
            "passkey_already_registered",
            "this passkey is already registered: each passkey can be added once".into(),
        ),
        Error::ConfirmationReplayed => {
            (400, "code_already_used", "this code was already used: wait for the next one".into())
        }
        Error::ConfirmationDead => {
            (400, "sms_code_invalid", "the code expired or was tried too often: add the phone again".into())
        }
        Error::ChallengeInvalid => {
            (401, "challenge_invalid", "this challenge is unknown, used, expired or dead: log in again".into())
        }
        Error::EnrollmentNotFound(message) => (404, "enrollment_not_found", (*message).into()),
        Error::EnrollmentExpired(message) => (404, "enrollment_expired", (*message).into()),
        Error::FactorNotFound => {
            (404, "factor_not_found", "you have no second factor of this kind with this id".into())
        }
        Error::PhoneNotFound => (404, "phone_not_found", "no confirmed phone with this id".into()),
        Error::SessionNotFound => {
            (404, "session_not_found", "there is no live session of this user with this id".into())
        }
        Error::ConsentNotFound => {
            (404, "consent_not_found", "there is no consent of this kind in force, and no factor of it".into())
        }
        Error::ConsentRequired(version) => (
            400,
            "consent_required",
            format!(
                "adding this factor needs consent to its text (GET /v1/consent-texts): send \"consent\": \"{version}\""
            ),
        ),
        Error::ConsentOutdated(version) => (
            400,
            "consent_outdated",
            format!("the consent text has changed (GET /v1/consent-texts): send \"consent\": \"{version}\""),
        ),
        Error::TrustedDeviceNotFound => {
            (404, "trusted_device_not_found", "you have no trusted device with this id".into())
        }
        Error::UserNotFound(message) => (404, "user_not_found", (*message).into()),
        Error::AccountNotFound => (404, "account_not_found", "this account no longer exists".into()),
        Error::EmailTaken => (409, "email_taken", "another user already has this email".into()),
        Error::ExternalIdTaken => (409, "external_id_taken", "another user already has this external id".into()),
        Error::ExternalIdRequired => (
            409,
            "external_id_required",
            "this user has no password: without the external id nothing could sign them in".into(),
        ),
        Error::SmsBadNumber => (400, "invalid_phone_number", "the SMS provider cannot deliver to this number".into()),
        Error::SmsProviderUnavailable => {
            (502, "sms_provider_unavailable", "the SMS provider is unavailable: try again later".into())
        }
        Error::NotReady(why) => (503, "not_ready", why.clone()),
        Error::MigrationFailed => {
            (503, "migration_failed", "the migrations could not be applied; see the service log".into())
        }
    };
    Reply::error(status, code, &message)
}

/// 401 `unauthenticated`, asking for a bearer token.
fn unauthenticated(message: &str) -> Reply {
    Reply::error(401, "unauthenticated", message).with_header("www-authenticate", "Bearer")
}

/// An error whose body also says how many checks are left, when that is known.
fn with_checks_left(status: u16, code: &str, message: &str, checks_left: Option<u32>) -> Reply {
    let error = match checks_left {
        Some(left) => json!({"code": code, "message": message, "checks_left": left}),
        None => json!({"code": code, "message": message}),
    };
    Reply::json(status, &json!({"error": error}))
}

/// `passkey_refused`, saying why (`reason`, a stable word) besides the message.
fn with_reason(status: u16, message: &str, reason: &str) -> Reply {
    Reply::json(status, &json!({"error": {"code": "passkey_refused", "message": message, "reason": reason}}))
}

/// Logs a failure of the service itself.
fn logged(during: &str, error: &Error) {
    eprintln!("{during}: {error}");
}

fn password_code(error: &PasswordError) -> &'static str {
    match error {
        PasswordError::TooShort => "password_too_short",
        PasswordError::TooLong => "password_too_long",
        PasswordError::ContainsEmail => "password_contains_email",
        PasswordError::TooWeak { .. } => "password_too_weak",
    }
}

fn phone_reason(error: crate::bindings::mfa::core::phone::PhoneError) -> &'static str {
    use crate::bindings::mfa::core::phone::PhoneError;
    match error {
        PhoneError::Empty => "it is empty",
        PhoneError::MissingPlus => "it must start with + and the country code",
        PhoneError::InvalidCharacter => "only digits, spaces, -, ., ( and ) may follow the +",
        PhoneError::LeadingZero => "no country code starts with 0",
        PhoneError::TooShort => "it has fewer than 7 digits",
        PhoneError::TooLong => "it has more than 15 digits",
        PhoneError::UnknownCountryCode => "its country code does not exist",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::error::Throttled;

    fn body(reply: &Reply) -> serde_json::Value {
        serde_json::from_slice(&reply.body).unwrap()
    }

    #[test]
    fn refusals_carry_their_codes_and_waits() {
        let locked = reply(&Error::SecondFactorLocked(42), "test");
        assert_eq!(locked.status, 429);
        assert!(locked.headers.iter().any(|(name, value)| name == "retry-after" && value == "42"));
        assert_eq!(reply(&Error::SecondFactorDisabled, "test").status, 403);
        let throttled = reply(&Error::Throttled(Throttled { limit: "ip", retry_after: 7 }), "test");
        assert_eq!((throttled.status, body(&throttled)["error"]["code"].as_str()), (429, Some("too_many_attempts")));
        let unauthenticated = reply(&Error::Unauthenticated, "test");
        assert!(unauthenticated.headers.iter().any(|(name, _)| name == "www-authenticate"));
    }

    #[test]
    fn a_refused_code_says_its_checks_left() {
        let refused = Error::CodeRefused { code: "invalid_code", message: "the code is wrong", checks_left: Some(3) };
        let answer = reply(&refused, "test");
        assert_eq!(answer.status, 401);
        assert_eq!(
            body(&answer)["error"],
            json!({"code": "invalid_code", "message": "the code is wrong", "checks_left": 3})
        );
        let confirmation = reply(&Error::ConfirmationWrong { message: "m", checks_left: None }, "test");
        assert_eq!((confirmation.status, body(&confirmation)["error"].get("checks_left")), (400, None));
    }

    #[test]
    fn an_erased_account_is_not_a_storage_failure() {
        let gone = Error::from(crate::store::sql::DbError::Gone);
        assert_eq!(reply(&gone, "test").status, 404);
        let down = Error::from(crate::store::sql::DbError::Connect("refused".into()));
        assert_eq!(reply(&down, "test").status, 503);
    }
}
