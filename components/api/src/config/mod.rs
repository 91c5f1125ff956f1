//! The app's configuration: every Spin variable it reads, by name, in this folder only (`[variables]` in
//! spin.toml; `SPIN_VARIABLE_*` under mfa-host and Spin). [`Settings`] is made once per request and reads each
//! variable when first needed (instances keep nothing between requests); the policies it parses are kept for the
//! rest of the request.
//!
//! - Storage ([`storage`]): the backend, Postgres and Redis addresses, the Redis key prefix.
//! - Policies ([`policy`]): sessions, throttles, SMS caps, validated by session-policy; MFA enforcement
//!   ([`enforcement`]).
//! - Secrets: the key ring for secrets at rest ([`keyring`]), the code pepper, the service API key.
//! - The consent texts for second factors ([`consent`]); the passkey relying party ([`passkeys`]).
//! - The SMS provider ([`twilio`]), the trusted proxies ([`proxies`]), registration, the TOTP issuer.

pub mod consent;
pub mod enforcement;
pub mod keyring;
pub mod passkeys;
pub mod policy;
pub mod proxies;
pub mod storage;
pub mod twilio;
pub mod variables;

use std::cell::OnceCell;

use crate::bindings::mfa::session::enrollment::EnforcementPolicy;
use crate::bindings::mfa::session::policy::SessionPolicy;
use crate::bindings::mfa::session::throttle::ThrottlePolicy;
use crate::model::FactorKind;

use self::consent::ConsentText;
use self::keyring::{KeyRing, KeyRingError};
use self::passkeys::PasskeySettings;
use self::policy::{PolicyError, SmsCaps};
use self::proxies::{Range, RangeError};
use self::storage::Storage;
use self::twilio::{TwilioError, TwilioSettings};
use self::variables::{ConfigError, Lookup};

/// The configuration of one request.
pub struct Settings {
    get: Box<dyn Fn(&'static str) -> Option<String>>,
    session_policy: OnceCell<Result<SessionPolicy, PolicyError>>,
    throttles: OnceCell<Result<ThrottlePolicy, PolicyError>>,
}

impl Settings {
    /// Settings read through `get`.
    pub fn new(get: impl Fn(&'static str) -> Option<String> + 'static) -> Self {
        Self { get: Box::new(get), session_policy: OnceCell::new(), throttles: OnceCell::new() }
    }

    /// Settings from Spin's variables.
    pub fn from_spin() -> Self {
        Self::new(|name| spin_sdk::variables::get(name).ok())
    }

    /// Settings from `pairs` (unit tests; any variable not listed is unset).
    pub fn from_pairs(pairs: &[(&'static str, &str)]) -> Self {
        let map: std::collections::HashMap<&'static str, String> =
            pairs.iter().map(|(name, value)| (*name, (*value).to_owned())).collect();
        Self::new(move |name| map.get(name).cloned())
    }

    fn lookup(&self) -> Lookup<'_> {
        &*self.get
    }

    /// A variable's value, trimmed; `None` when unset or empty.
    fn trimmed(&self, name: &'static str) -> Option<String> {
        (self.get)(name).map(|value| value.trim().to_owned()).filter(|value| !value.is_empty())
    }

    /// Where state lives and how to reach it.
    pub fn storage(&self) -> Result<Storage, ConfigError> {
        storage::read(self.lookup())
    }

    /// The session policy in force.
    pub fn session_policy(&self) -> Result<SessionPolicy, PolicyError> {
        self.session_policy.get_or_init(|| policy::current(self.lookup())).clone()
    }

    /// The throttle policy in force.
    pub fn throttles(&self) -> Result<ThrottlePolicy, PolicyError> {
        self.throttles.get_or_init(|| policy::throttles(self.lookup())).clone()
    }

    /// The consent text in force for factors of `kind`.
    pub fn consent_text(&self, kind: FactorKind) -> ConsentText {
        consent::text(self.lookup(), kind)
    }

    /// The MFA enforcement policy in force.
    pub fn enforcement(&self) -> Result<EnforcementPolicy, PolicyError> {
        enforcement::current(self.lookup())
    }

    /// The passkey (WebAuthn) relying party.
    pub fn passkeys(&self) -> Result<PasskeySettings, PolicyError> {
        passkeys::read(self.lookup())
    }

    /// The SMS toll-fraud caps in force.
    pub fn sms_caps(&self) -> Result<SmsCaps, PolicyError> {
        policy::sms_caps(self.lookup())
    }

    /// Every policy at once, naming the variable and the rule it breaks (what `/readyz` and the migration check).
    pub fn check_policies(&self) -> Result<(), PolicyError> {
        self.session_policy()?;
        self.throttles()?;
        self.sms_caps()?;
        self.enforcement()?;
        self.passkeys()?;
        Ok(())
    }

    /// The service API key, if one is set (an empty value disables the service API).
    pub fn api_key(&self) -> Option<String> {
        (self.get)("api_key").filter(|key| !key.is_empty())
    }

    /// The pepper one-time codes (backup codes, SMS codes) are hashed under: `code_pepper`, at least 16 bytes.
    pub fn code_pepper(&self) -> Result<Vec<u8>, ConfigError> {
        match (self.get)("code_pepper").map(|value| value.trim().to_owned()) {
            Some(pepper) if pepper.len() >= 16 => Ok(pepper.into_bytes()),
            _ => Err(ConfigError::Invalid { name: "code_pepper", expected: "a secret of at least 16 characters" }),
        }
    }

    /// The key ring secrets at rest are sealed with (`encryption_keys`).
    pub fn key_ring(&self) -> Result<KeyRing, KeyRingError> {
        KeyRing::parse(&(self.get)("encryption_keys").unwrap_or_default())
    }

    /// Twilio's account and sender.
    pub fn twilio(&self) -> Result<TwilioSettings, TwilioError> {
        twilio::read(self.lookup())
    }

    /// The name authenticator apps and SMS messages show (`totp_issuer`), if set.
    pub fn issuer(&self) -> Option<String> {
        self.trimmed("totp_issuer")
    }

    /// Whether anyone may register (`allow_registration`; fails closed: only an explicit yes opens it).
    pub fn registration_open(&self) -> bool {
        let allowed = (self.get)("allow_registration").map(|value| value.trim().to_ascii_lowercase());
        matches!(allowed.as_deref(), Some("true" | "1" | "yes" | "on"))
    }

    /// The request headers a trusted proxy reports the client's location in: country (`location_country_header`,
    /// `CF-IPCountry` unless set), region and city (`location_region_header`, `location_city_header`; none unless
    /// set), lower case; an empty name reads nothing.
    pub fn location_headers(&self) -> [String; 3] {
        let name = |variable: &'static str, default: &str| {
            (self.get)(variable).map_or_else(|| default.to_owned(), |name| name.trim().to_ascii_lowercase())
        };
        [
            name("location_country_header", "cf-ipcountry"),
            name("location_region_header", ""),
            name("location_city_header", ""),
        ]
    }

    /// The proxies whose `X-Forwarded-For` is believed (`trusted_proxies`; empty: none).
    pub fn trusted_proxies(&self) -> Result<Vec<Range>, RangeError> {
        proxies::parse_list(&(self.get)("trusted_proxies").unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_api_key_disables_the_service_api() {
        assert_eq!(Settings::from_pairs(&[("api_key", "")]).api_key(), None);
        assert_eq!(Settings::from_pairs(&[("api_key", "k")]).api_key(), Some("k".to_owned()));
    }

    #[test]
    fn registration_is_open_only_when_said_so() {
        assert!(Settings::from_pairs(&[("allow_registration", " Yes ")]).registration_open());
        assert!(!Settings::from_pairs(&[("allow_registration", "maybe")]).registration_open());
        assert!(!Settings::from_pairs(&[]).registration_open());
    }

    #[test]
    fn the_pepper_must_be_long_enough() {
        assert!(Settings::from_pairs(&[("code_pepper", "short")]).code_pepper().is_err());
        assert_eq!(Settings::from_pairs(&[("code_pepper", " 0123456789abcdef ")]).code_pepper().unwrap().len(), 16);
    }
}
