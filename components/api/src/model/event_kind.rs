//! Every kind of security event the service records: the closed list users see in their activity, products read
//! from the trail, and operators count when a write fails.

use super::vocabulary::vocabulary;

vocabulary! {
    /// What happened.
    EventKind {
        /// An account was registered with email and password.
        Registered = "registered",
        /// Someone tried to register an email that already has an account (recorded for its owner).
        RegistrationForExistingEmail = "registration_for_existing_email",
        /// A registration was refused by the per-address limit.
        RegistrationThrottled = "registration_throttled",
        /// The service API created a user.
        UserCreated = "user_created",
        /// The service API linked the account to the product's id (or replaced it).
        ExternalIdLinked = "external_id_linked",
        /// The service API removed the account's link to the product's id.
        ExternalIdUnlinked = "external_id_unlinked",
        /// A sign-in made a session (password with or without a second factor, a passkey alone, a trusted device,
        /// or the product's sign-in through the service API), with the method that completed it.
        LoginSucceeded = "login_succeeded",
        /// A password login failed (wrong password or unknown email).
        LoginFailed = "login_failed",
        /// A password login, or a passwordless passkey sign-in's options, was refused by a guessing limit.
        LoginThrottled = "login_throttled",
        /// A login was refused by the session limit.
        LoginRefused = "login_refused",
        /// A login came with risk signals.
        LoginRisk = "login_risk",
        /// A second-factor challenge was issued after the first factor.
        LoginChallengeIssued = "login_challenge_issued",
        /// A challenge that cannot be used was presented.
        LoginChallengeRefused = "login_challenge_refused",
        /// A trusted device skipped the second factor.
        SecondFactorSkipped = "second_factor_skipped",
        /// A second-factor code was accepted.
        SecondFactorSucceeded = "second_factor_succeeded",
        /// A second-factor code was refused.
        SecondFactorFailed = "second_factor_failed",
        /// A second-factor attempt was refused while checks are locked or disabled.
        SecondFactorRefused = "second_factor_refused",
        /// Too many wrong codes locked second-factor checks.
        SecondFactorLocked = "second_factor_locked",
        /// Too many consecutive wrong codes disabled second-factor checks.
        SecondFactorDisabled = "second_factor_disabled",
        /// The service API reset the lockout.
        SecondFactorReset = "second_factor_reset",
        /// The product's support removed every second factor of a user who lost theirs (with the operator and the
        /// reason); their trusted devices were voided and their sessions ended.
        SecondFactorRecovered = "second_factor_recovered",
        /// An already used TOTP code was presented again.
        TotpReplayRefused = "totp_replay_refused",
        /// A session was created.
        SessionCreated = "session_created",
        /// Sessions were evicted by the session limit.
        SessionEvicted = "session_evicted",
        /// A session was found past its lifetime or idle timeout, and ended.
        SessionExpired = "session_expired",
        /// A session was ended (logout, revocation, password change).
        SessionRevoked = "session_revoked",
        /// Sessions established with a removed factor were ended.
        SessionsRevoked = "sessions_revoked",
        /// A session got a new token.
        SessionRotated = "session_rotated",
        /// A session re-verified (step-up).
        StepUpSucceeded = "step_up_succeeded",
        /// A password step-up failed.
        StepUpFailed = "step_up_failed",
        /// A password step-up was refused by a guessing limit.
        StepUpThrottled = "step_up_throttled",
        /// The password was changed.
        PasswordChanged = "password_changed",
        /// A password change gave a wrong current password.
        PasswordChangeFailed = "password_change_failed",
        /// A password change was refused by a guessing limit.
        PasswordChangeThrottled = "password_change_throttled",
        /// An authenticator enrollment started.
        MfaTotpEnrollmentStarted = "mfa_totp_enrollment_started",
        /// An authenticator enrollment got a wrong code.
        MfaTotpConfirmationFailed = "mfa_totp_confirmation_failed",
        /// An authenticator was enabled.
        MfaTotpEnabled = "mfa_totp_enabled",
        /// An authenticator was removed.
        MfaTotpRemoved = "mfa_totp_removed",
        /// A phone enrollment started.
        MfaSmsEnrollmentStarted = "mfa_sms_enrollment_started",
        /// A phone enrollment got a wrong code.
        MfaSmsConfirmationFailed = "mfa_sms_confirmation_failed",
        /// A phone was enabled.
        MfaSmsEnabled = "mfa_sms_enabled",
        /// A phone was removed.
        MfaSmsRemoved = "mfa_sms_removed",
        /// A passkey registration was refused (the ceremony failed verification; the reason is given).
        MfaPasskeyRegistrationFailed = "mfa_passkey_registration_failed",
        /// A passkey was registered and enabled.
        MfaPasskeyEnabled = "mfa_passkey_enabled",
        /// A passkey was removed.
        MfaPasskeyRemoved = "mfa_passkey_removed",
        /// A passkey's signature counter did not advance: the credential may have been cloned.
        PasskeyCounterRegressed = "passkey_counter_regressed",
        /// A passkey's backup eligibility changed since registration (a provider synced it later): kept as it is now.
        PasskeyBackupEligibilityChanged = "passkey_backup_eligibility_changed",
        /// A passwordless sign-in with a passkey was refused (the reason is given).
        PasskeySignInFailed = "passkey_sign_in_failed",
        /// An SMS code was sent.
        SmsSent = "sms_sent",
        /// An SMS could not be sent.
        SmsSendFailed = "sms_send_failed",
        /// An SMS send was refused by a limit.
        SmsThrottled = "sms_throttled",
        /// The user consented to what a kind of second factor processes (with the text's version).
        ConsentGiven = "consent_given",
        /// The user withdrew a consent; the factors of its kind were removed.
        ConsentWithdrawn = "consent_withdrawn",
        /// Backup codes were made with the first second factor.
        BackupCodesCreated = "backup_codes_created",
        /// Backup codes were regenerated.
        BackupCodesRegenerated = "backup_codes_regenerated",
        /// A device became trusted.
        DeviceTrusted = "device_trusted",
        /// The user stopped trusting a device.
        TrustedDeviceRevoked = "trusted_device_revoked",
        /// Every trusted device was voided by a change of password or second factors.
        TrustedDevicesVoided = "trusted_devices_voided",
        /// The user exported their data.
        DataExported = "data_exported",
        /// The account was erased.
        AccountErased = "account_erased",
        /// A request to the service API had no valid key.
        ServiceApiKeyRefused = "service_api_key_refused",
        /// A cookie-authenticated request lacked the session's CSRF token.
        CsrfRefused = "csrf_refused",
    }
}
