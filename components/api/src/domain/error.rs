//! Why the service refuses or fails a request, in the domain's words. Every function below the routes answers
//! with this type; [`crate::http::error`] is the one place that turns it into a status, a stable error code and a
//! message.

use crate::bindings::mfa::core::phone::PhoneError;
use crate::config::keyring::KeyRingError;
use crate::config::policy::PolicyError;
use crate::config::twilio::TwilioError;
use crate::config::variables::ConfigError;
use crate::domain::password::PasswordError;
use crate::store::error::StoreError;
use crate::store::sql::DbError;

/// An attempt refused by a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    /// Which limit (`account_ip`, `ip`, `account`, `registrations_ip`, `passkey_ip`, `sms_*`).
    pub limit: &'static str,
    /// Seconds to wait: the `Retry-After` value.
    pub retry_after: u64,
}

/// A refusal or a failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    // --- Who is asking.
    /// No valid session was presented.
    #[error("no valid session")]
    Unauthenticated,
    /// The session ended while the request used it.
    #[error("the session has ended")]
    SessionEnded,
    /// A cookie-authenticated change came without the session's CSRF token.
    #[error("the CSRF token is missing or wrong")]
    CsrfInvalid,
    /// The change needs a recent authentication.
    #[error("a step-up is required")]
    StepUpRequired,
    /// The account must enroll a second factor before anything else (MFA enforcement, past the grace period).
    #[error("a second factor must be enrolled first")]
    MfaEnrollmentRequired,
    /// The service API has no key configured.
    #[error("the service API is disabled")]
    ServiceApiDisabled,
    /// The service API key is missing or wrong.
    #[error("the service API key is missing or wrong")]
    ServiceKeyInvalid,

    // --- The configuration.
    /// The session policy variables are invalid.
    #[error(transparent)]
    SessionPolicyInvalid(PolicyError),
    /// The throttle variables are invalid.
    #[error("{0}")]
    ThrottlesInvalid(PolicyError),
    /// The SMS cap variables are invalid.
    #[error("{0}")]
    SmsCapsInvalid(PolicyError),
    /// The MFA enforcement variables are invalid.
    #[error("{0}")]
    EnforcementInvalid(PolicyError),
    /// The passkey relying-party variables are invalid.
    #[error("{0}")]
    PasskeysInvalid(PolicyError),
    /// A policy variable breaks a rule (checked as a whole by `/readyz` and the migration).
    #[error("{0}")]
    PolicyInvalid(PolicyError),
    /// The encryption keys are missing or malformed.
    #[error("{0}")]
    EncryptionNotConfigured(KeyRingError),
    /// The code pepper is missing or too short.
    #[error("{0}")]
    PepperNotConfigured(ConfigError),
    /// Twilio is not configured.
    #[error("{0}")]
    SmsNotConfigured(TwilioError),
    /// The otpauth URI could not be built from the issuer.
    #[error("the otpauth URI could not be built: {0}")]
    IssuerInvalid(String),
    /// A stored secret names a key the ring no longer has.
    #[error("{0}")]
    EncryptionKeyMissing(KeyRingError),
    /// A stored secret does not decrypt.
    #[error("{0}")]
    SecretUnreadable(KeyRingError),

    // --- Storage.
    /// The stores failed (or the account was erased while the request ran).
    #[error(transparent)]
    Storage(#[from] StoreError),
    /// The storage variables are unusable.
    #[error(transparent)]
    StorageConfig(#[from] ConfigError),
    /// A new account could not be stored.
    #[error("the account could not be stored: {0}")]
    AccountNotStored(DbError),
    /// A user just created could not be read back.
    #[error("the user could not be read back")]
    UserNotReadBack,
    /// Something that cannot fail did (randomness, encoding...).
    #[error("{0}")]
    Internal(&'static str),

    // --- What was sent.
    /// The email is malformed.
    #[error("{0}")]
    InvalidEmail(&'static str),
    /// The new password breaks the policy.
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// The authenticator's name is unusable.
    #[error("invalid name")]
    InvalidName,
    /// The phone number is not E.164.
    #[error("invalid phone number: {0:?}")]
    InvalidPhone(PhoneError),
    /// The external id is unusable.
    #[error("invalid external id")]
    InvalidExternalId,
    /// Enrolling needs consent to the text in force (carries its version).
    #[error("consent to the text in force ({0}) is required")]
    ConsentRequired(String),
    /// The consent given is to another version than the text in force (carries the version in force).
    #[error("the consent given is not to the text in force ({0})")]
    ConsentOutdated(String),
    /// A field's value is unusable (the message says which and why).
    #[error("{0}")]
    InvalidField(&'static str),
    /// The second-factor method is unknown or not offered.
    #[error("{0}")]
    UnsupportedMethod(String),
    /// Registration is closed.
    #[error("registration is disabled")]
    RegistrationDisabled,

    // --- Limits.
    /// A guessing or sending limit refused the attempt.
    #[error("throttled by {}", .0.limit)]
    Throttled(Throttled),
    /// Second-factor checks are locked for this many seconds.
    #[error("second-factor checks are locked")]
    SecondFactorLocked(u64),
    /// Second-factor checks are disabled until a reset.
    #[error("second-factor checks are disabled")]
    SecondFactorDisabled,
    /// The user has the maximum number of sessions and the policy refuses more.
    #[error("the session limit is reached")]
    SessionLimitReached,

    // --- Credentials and codes.
    /// The email or password is wrong (login).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The password is wrong (password step-up).
    #[error("wrong password")]
    WrongPassword,
    /// The current password is wrong (password change).
    #[error("the current password is wrong")]
    CurrentPasswordWrong,
    /// The account has no password to step up with.
    #[error("no password")]
    NoPassword,
    /// A user with a second factor stepped up with the password.
    #[error("a second factor is required")]
    SecondFactorRequired,
    /// A password step-up came without the password.
    #[error("the password is required")]
    PasswordRequired,
    /// A user without a second factor stepped up with a code.
    #[error("no second factor to step up with")]
    NoSecondFactorToStepUp,
    /// The user has no second factor for this.
    #[error("{0}")]
    NoSecondFactor(&'static str),
    /// A second-factor code was refused (wrong, used, dead), at login or step-up.
    #[error("{message}")]
    CodeRefused {
        /// The stable error code.
        code: &'static str,
        /// For humans.
        message: &'static str,
        /// The checks left for this code or challenge, when that is known.
        checks_left: Option<u32>,
    },
    /// An enrollment's confirmation code is wrong.
    #[error("{message}")]
    ConfirmationWrong {
        /// For humans.
        message: &'static str,
        /// The checks the SMS code has left.
        checks_left: Option<u32>,
    },
    /// A passkey registration was refused: why (a stable word) and a message.
    #[error("{message}")]
    PasskeyRegistrationRefused {
        /// Why, as events record it.
        reason: &'static str,
        /// For humans.
        message: &'static str,
    },
    /// A passwordless sign-in's passkey answer was refused: why and a message.
    #[error("{message}")]
    PasskeyRefused {
        /// Why, as events record it.
        reason: &'static str,
        /// For humans.
        message: &'static str,
    },
    /// The passkey is already registered (to this or another account).
    #[error("the passkey is already registered")]
    PasskeyAlreadyRegistered,
    /// An enrollment's TOTP code was already used.
    #[error("the code was already used")]
    ConfirmationReplayed,
    /// An enrollment's SMS code is dead (expired or tried too often).
    #[error("the SMS code is dead")]
    ConfirmationDead,
    /// The login challenge is unknown, used, expired or out of checks.
    #[error("the challenge is invalid")]
    ChallengeInvalid,

    // --- Not found.
    /// No such enrollment in progress.
    #[error("{0}")]
    EnrollmentNotFound(&'static str),
    /// The enrollment was left too long.
    #[error("{0}")]
    EnrollmentExpired(&'static str),
    /// No such second factor of the user.
    #[error("no such factor")]
    FactorNotFound,
    /// No such confirmed phone of the user.
    #[error("no such phone")]
    PhoneNotFound,
    /// No such live session of the user.
    #[error("no such session")]
    SessionNotFound,
    /// No such trusted device of the user.
    #[error("no such trusted device")]
    TrustedDeviceNotFound,
    /// No consent of that kind is in force, and no factor of it exists.
    #[error("no such consent")]
    ConsentNotFound,
    /// No such user.
    #[error("{0}")]
    UserNotFound(&'static str),
    /// The account no longer exists.
    #[error("the account no longer exists")]
    AccountNotFound,
    /// Another user has this email.
    #[error("the email is taken")]
    EmailTaken,
    /// Another user has this external id.
    #[error("the external id is taken")]
    ExternalIdTaken,
    /// The user has no password: the product's id is their only way in.
    #[error("the external id is the user's only way in")]
    ExternalIdRequired,

    // --- The SMS provider.
    /// Twilio refused the number.
    #[error("Twilio refused the number")]
    SmsBadNumber,
    /// Twilio kept failing.
    #[error("Twilio is unavailable")]
    SmsProviderUnavailable,

    // --- Operations.
    /// The service is not ready (why).
    #[error("{0}")]
    NotReady(String),
    /// The migrations could not be applied (the cause is logged).
    #[error("the migrations could not be applied")]
    MigrationFailed,
}

impl From<DbError> for Error {
    fn from(error: DbError) -> Self {
        Self::Storage(StoreError::Db(error))
    }
}
