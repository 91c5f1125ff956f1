//! A new session after a successful authentication (a password login without a second factor, a trusted
//! device, or a verified challenge): session-policy assesses the login's risk signals (new device, new IP, user
//! agent changed) against the user's known devices, and the session is admitted under the session limit. The
//! signals are recorded as a `login_risk` event and kept with the session.

use serde_json::json;

use super::context::Ctx;
use super::devices;
use super::error::Error;
use super::events;
use super::sessions::created_events;
use crate::bindings::mfa::session::policy::SessionPolicy;
use crate::bindings::mfa::session::risk::{self, LoginContext};
use crate::bindings::mfa::session::tokens;
use crate::model::{AuthMethod, EventKind, RiskSignal};
use crate::store::devices as device_records;
use crate::store::sessions::{Admitted, Session};

/// The device of a login: its cookie id's digest, and the id itself when it is new (to be set as the cookie).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// SHA-256 of the device id (empty: no device, the product's own challenge).
    pub hash: String,
    /// A device id made for this login, for the `Set-Cookie`.
    pub new_id: Option<String>,
}

/// How the user proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// The assurance level: 1 password, 2 with a second factor.
    pub aal: i64,
    /// The method.
    pub method: AuthMethod,
    /// The second factor used (authenticator or phone id); empty for none.
    pub factor_id: String,
}

impl Proof {
    /// A password alone.
    pub fn password() -> Self {
        Self { aal: 1, method: AuthMethod::Password, factor_id: String::new() }
    }

    /// The product's own first factor (the service API's sign-in).
    pub fn external() -> Self {
        Self { aal: 1, method: AuthMethod::External, factor_id: String::new() }
    }
}

/// A new session and its token.
#[derive(Debug)]
pub struct Started {
    /// The session.
    pub session: Session,
    /// Its token (shown once).
    pub token: String,
}

/// The risk signals of a login from `device_hash` by the request's client against the user's known devices.
fn assess(ctx: &Ctx, known: &[risk::KnownDevice], device_hash: &str) -> Vec<RiskSignal> {
    let location = &ctx.client().location;
    let context = LoginContext {
        device_id: Some(device_hash.to_owned()),
        ip: ctx.client().ip_text(),
        user_agent: ctx.client().user_agent.clone(),
        country: (!location.is_unknown()).then(|| location.country.clone()),
    };
    // Without a readable address (no spin-client-addr) the device signal still applies; the address one cannot.
    let signals = risk::assess_login(&context, known)
        .or_else(|_| risk::assess_login(&LoginContext { ip: "0.0.0.0".to_owned(), ..context }, known))
        .unwrap_or_default();
    signals
        .into_iter()
        .map(|signal| match signal {
            risk::RiskSignal::NewDevice => RiskSignal::NewDevice,
            risk::RiskSignal::NewIp => RiskSignal::NewIp,
            risk::RiskSignal::UserAgentChanged => RiskSignal::UserAgentChanged,
            risk::RiskSignal::NewCountry => RiskSignal::NewCountry,
        })
        .collect()
}

/// Creates a session for `user_id` on device `device_hash`, authenticated just now as `proof` says.
pub fn start_session(
    ctx: &Ctx,
    policy: &SessionPolicy,
    user_id: &str,
    device_hash: &str,
    proof: &Proof,
) -> Result<Started, Error> {
    let store = ctx.store()?;
    let known = device_records::known(store.db(), user_id)?;
    let token = tokens::new_session_token();
    let key = tokens::storage_key(&token).map_err(|_| Error::Internal("a session token could not be made"))?;
    let session = Session {
        key,
        id: tokens::new_challenge_id(),
        user_id: user_id.to_owned(),
        aal: proof.aal,
        method: proof.method,
        factor_id: proof.factor_id.clone(),
        auth_time: ctx.now,
        created_at: ctx.now,
        last_seen_at: ctx.now,
        ip: ctx.client().ip_text(),
        device_label: devices::label(&ctx.client().user_agent),
        user_agent: ctx.client().user_agent.clone(),
        device_hash: device_hash.to_owned(),
        risk: assess(ctx, &known, device_hash),
        location: ctx.client().location.clone(),
    };
    let admitted = store.sessions().admit(&session, policy, ctx.now);
    events::record_expired(ctx);
    match admitted? {
        Admitted::Created { evicted } => {
            events::record_all(ctx, &created_events(&session, evicted.len()));
            if let Err(error) = devices::remember(store.db(), &known, user_id, device_hash, ctx.client(), ctx.now) {
                eprintln!("login: the device could not be remembered: {error}");
            }
            Ok(Started { session, token })
        }
        Admitted::Refused => {
            let detail = json!({"reason": "session_limit"});
            events::record(ctx, EventKind::LoginRefused, Some(user_id), None, detail);
            Err(Error::SessionLimitReached)
        }
    }
}
