//! Second factors, as one feature: TOTP authenticators ([`totp`]), SMS phones and codes ([`sms`], through [`twilio`]),
//! backup codes ([`backup_codes`]), passkeys ([`passkeys`]); checking any of them under the per-user lockout
//! ([`verify`], [`lockout`]); the user's factors as a whole ([`factors`]); the login challenge ([`challenge`]) and
//! step-up ([`step_up`]); support's recovery of a user who lost their second factor ([`recovery`]); re-encrypting
//! stored secrets under a new key ([`reencryption`]).

pub mod backup_codes;
pub mod challenge;
pub mod factors;
pub mod lockout;
pub mod passkeys;
pub mod recovery;
pub mod reencryption;
pub mod sms;
pub mod step_up;
pub mod totp;
pub mod twilio;
pub mod verify;
