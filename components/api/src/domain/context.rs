//! One request as the domain sees it: the settings, who the client is, the time it is read at (once), and the
//! stores, opened at their first use.

use std::cell::OnceCell;
use std::net::IpAddr;

use super::error::Error;
use crate::bindings::mfa::session::enrollment::EnforcementPolicy;
use crate::bindings::mfa::session::policy::SessionPolicy;
use crate::bindings::mfa::session::throttle::ThrottlePolicy;
use crate::config::Settings;
use crate::config::keyring::KeyRing;
use crate::config::passkeys::PasskeySettings;
use crate::model::Location;
use crate::store::Store;

/// Who sent the request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Client {
    /// The client's address as limits and events see it (behind trusted proxies, the forwarded one).
    pub ip: Option<IpAddr>,
    /// The user agent, at most 512 characters.
    pub user_agent: String,
    /// Where it is, when a trusted proxy said so.
    pub location: Location,
}

impl Client {
    /// The client of a request with address `ip` and user agent `user_agent` (location unknown).
    pub fn new(ip: Option<IpAddr>, user_agent: &str) -> Self {
        Self { ip, user_agent: user_agent.chars().take(512).collect(), location: Location::default() }
    }

    /// This client, at `location`.
    #[must_use]
    pub fn at(self, location: Location) -> Self {
        Self { location, ..self }
    }

    /// The address as text (empty when unknown), as events and sessions record it.
    pub fn ip_text(&self) -> String {
        self.ip.map(|ip| ip.to_string()).unwrap_or_default()
    }
}

/// The context of one request.
pub struct Ctx {
    /// The configuration.
    pub settings: Settings,
    /// Who sent it.
    client: Client,
    /// The end user a product's backend acts for (the service API's sign-in), once it says so.
    acting_for: OnceCell<Client>,
    /// When it is served (Unix seconds), read once.
    pub now: i64,
    store: OnceCell<Store>,
}

impl Ctx {
    /// A request from `client` at `now` under `settings`.
    pub fn new(settings: Settings, client: Client, now: i64) -> Self {
        Self { settings, client, now, acting_for: OnceCell::new(), store: OnceCell::new() }
    }

    /// The client limits, sessions and events see: the end user a product's backend acts for, else the sender.
    pub fn client(&self) -> &Client {
        self.acting_for.get().unwrap_or(&self.client)
    }

    /// From now on the request is on behalf of `client` (a product's backend, authenticated by the service API key,
    /// signing in its end user); only the first call counts.
    pub fn act_for(&self, client: Client) {
        let _ = self.acting_for.set(client);
    }

    /// The stores, opened at the first call.
    pub fn store(&self) -> Result<&Store, Error> {
        if let Some(store) = self.store.get() {
            return Ok(store);
        }
        let store = Store::open(&self.settings.storage()?, self.now);
        Ok(self.store.get_or_init(|| store))
    }

    /// The session policy in force.
    pub fn session_policy(&self) -> Result<SessionPolicy, Error> {
        self.settings.session_policy().map_err(Error::SessionPolicyInvalid)
    }

    /// The MFA enforcement policy in force.
    pub fn enforcement(&self) -> Result<EnforcementPolicy, Error> {
        self.settings.enforcement().map_err(Error::EnforcementInvalid)
    }

    /// The passkey relying party.
    pub fn passkeys(&self) -> Result<PasskeySettings, Error> {
        self.settings.passkeys().map_err(Error::PasskeysInvalid)
    }

    /// The throttle policy in force.
    pub fn throttles(&self) -> Result<ThrottlePolicy, Error> {
        self.settings.throttles().map_err(Error::ThrottlesInvalid)
    }

    /// The pepper one-time codes are hashed under.
    pub fn pepper(&self) -> Result<Vec<u8>, Error> {
        self.settings.code_pepper().map_err(Error::PepperNotConfigured)
    }

    /// The key ring secrets at rest are sealed with.
    pub fn key_ring(&self) -> Result<KeyRing, Error> {
        self.settings.key_ring().map_err(Error::EncryptionNotConfigured)
    }
}

/// The current time as the app stores it: Unix seconds (0 if the clock is before the epoch).
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
