//! `POST /v1/login` `{"email", "password"}` -> 201 with a new session: the token in the JSON body and in the
//! `__Host-` session cookie, the CSRF token for cookie use, and a new device cookie for a browser that had none (or
//! one this account never saw).
//!
//! In order: the password-guessing limits are checked and the attempt counted as a failure in advance
//! ([`crate::throttles`]; 429 with `Retry-After` and a `login_throttled` event when refused, whatever the
//! password), so parallel guesses are never verified beyond the limit; the password is verified (against a decoy
//! hash for an unknown email, so both cost the same and answer the same `401 invalid_credentials`); on success the
//! attempt's reservation is given back, session-policy assesses the risk signals (new device, new IP, user agent
//! changed) against the user's known devices, and the session is admitted under the session limit. Signals are recorded as a `login_risk` event and kept with the session.

use serde::Deserialize;
use serde_json::json;

use crate::accounts::{json_body, normalize_email};
use crate::auth::{Happened, client, policy_or_reply, record, record_all, token_answer, unavailable};
use crate::bindings::mfa::session::risk::{self, LoginContext, RiskSignal};
use crate::bindings::mfa::session::tokens;
use crate::clock::now;
use crate::config::Lookup;
use crate::cookies::{self, DEVICE_COOKIE};
use crate::devices;
use crate::http::{Reply, Request};
use crate::password;
use crate::sessions::{Admitted, Session, Store};
use crate::sql::SqlValue;
use crate::throttles::{self, Throttled};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    email: String,
    password: String,
}

/// 429 for an attempt a limit refused.
pub fn throttled_reply(throttled: &Throttled) -> Reply {
    Reply::error(
        429,
        "too_many_attempts",
        &format!("too many attempts; try again in {} seconds", throttled.retry_after),
    )
    .with_header("retry-after", throttled.retry_after.to_string())
}

/// The outcome of a password check under the password-guessing limits.
pub enum Verdict {
    /// A limit refused the attempt; the password was not looked at.
    Throttled(Throttled),
    /// The password is wrong (or the account unknown).
    Wrong,
    /// The password is right.
    Right,
}

/// Checks `password` against `stored_hash` (none: an unknown email, checked against a decoy) for `email` from the
/// request's address, under the password-guessing limits.
pub fn guarded_verify(
    store: &Store,
    request: &Request,
    get: Lookup<'_>,
    email: &str,
    stored_hash: Option<&str>,
    known_device: bool,
    password: &str,
) -> Result<Verdict, Reply> {
    let policy = crate::auth::throttles_or_reply(get)?;
    let now = now();
    let ip_key = throttles::address_key(request.client_ip);
    let attempt = match throttles::reserve_password_attempt(store, &policy, email, &ip_key, known_device, now) {
        Ok(Ok(attempt)) => attempt,
        Ok(Err(throttled)) => return Ok(Verdict::Throttled(throttled)),
        // A failure that cannot be counted must not go unnoticed: the attempt is answered as unavailable.
        Err(error) => return Err(unavailable("password throttle", &error)),
    };
    if !password::verify(password, stored_hash) {
        return Ok(Verdict::Wrong);
    }
    if let Err(error) = attempt.succeeded(store, now) {
        // The reservation stays: the user is no worse off than after one wrong password.
        eprintln!("password throttle: {error}");
    }
    Ok(Verdict::Right)
}

fn signal_name(signal: RiskSignal) -> &'static str {
    match signal {
        RiskSignal::NewDevice => "new_device",
        RiskSignal::NewIp => "new_ip",
        RiskSignal::UserAgentChanged => "user_agent_changed",
    }
}

/// `POST /v1/login`.
pub fn login(request: &Request, get: Lookup<'_>) -> Reply {
    let body: Login = match json_body(request) {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let policy = match policy_or_reply(get) {
        Ok(policy) => policy,
        Err(refusal) => return refusal,
    };
    let store = match Store::open(get) {
        Ok(store) => store,
        Err(error) => return unavailable("login", &error),
    };
    // A malformed email cannot be registered: it is just another unknown user, throttled under what was typed.
    let email = normalize_email(&body.email).unwrap_or_else(|_| body.email.trim().to_lowercase());
    let user = match store.db().query(
        "SELECT id, password_hash FROM users WHERE email = $1 AND password_hash IS NOT NULL",
        &[SqlValue::Text(email.clone())],
    ) {
        Ok(rows) => rows.into_iter().next(),
        Err(error) => return unavailable("login", &error),
    };
    let (user_id, stored_hash) = match user.as_deref() {
        Some([id, hash]) => (id.as_str().map(str::to_owned), hash.as_str().map(str::to_owned)),
        _ => (None, None),
    };
    // The device cookie, if it holds a well-formed id; only its digest is ever stored or compared.
    let device_hash = request.cookie(DEVICE_COOKIE).and_then(|id| tokens::storage_key(id).ok());
    let known_device = match (&user_id, &device_hash) {
        (Some(user_id), Some(hash)) => match devices::is_known(store.db(), user_id, hash) {
            Ok(known) => known,
            Err(error) => return unavailable("login", &error),
        },
        _ => false,
    };
    let verdict =
        match guarded_verify(&store, request, get, &email, stored_hash.as_deref(), known_device, &body.password) {
            Ok(verdict) => verdict,
            Err(refusal) => return refusal,
        };
    let now = now();
    let user_id = match (verdict, user_id) {
        (Verdict::Throttled(throttled), user_id) => {
            let detail = json!({"limit": throttled.limit, "retry_after": throttled.retry_after});
            record(&store, request, "login_throttled", user_id.as_deref(), None, detail, now);
            return throttled_reply(&throttled);
        }
        (Verdict::Right, Some(user_id)) => user_id,
        (_, user_id) => {
            let detail = json!({"reason": if user_id.is_some() { "wrong_password" } else { "unknown_email" }});
            record(&store, request, "login_failed", user_id.as_deref(), None, detail, now);
            return Reply::error(401, "invalid_credentials", "the email or password is wrong");
        }
    };
    // Device ids are the server's: a cookie is adopted only when its device already logged in to this account;
    // any other value (none, malformed, or one planted in the browser by someone else) is replaced by a new id, so
    // a trusted device can never be a value that someone else chose or knows.
    let device = match device_hash {
        Some(hash) if known_device => Device { hash, new_id: None },
        _ => {
            let id = tokens::new_device_id();
            match tokens::storage_key(&id) {
                Ok(hash) => Device { hash, new_id: Some(id) },
                Err(_) => return Reply::error(500, "internal_error", "a device id could not be made"),
            }
        }
    };
    let db = store.db();
    match crate::factors::has_any(db, &user_id) {
        Ok(true) => match crate::trusted_devices::is_trusted(db, &user_id, &device.hash, now) {
            // A device the user trusted at an earlier verification skips the second factor.
            Ok(true) if device.new_id.is_none() => {
                let proof = Proof { aal: 2, method: "trusted_device", factor_id: "" };
                record(
                    &store,
                    request,
                    "second_factor_skipped",
                    Some(&user_id),
                    None,
                    json!({"reason": "trusted_device"}),
                    now,
                );
                start_session(&store, request, &policy, &user_id, &device, &proof, now)
            }
            Ok(_) => crate::challenge::issue(&store, request, &user_id, &device, now),
            Err(error) => unavailable("login", &error),
        },
        Ok(false) => start_session(&store, request, &policy, &user_id, &device, &Proof::PASSWORD, now),
        Err(error) => unavailable("login", &error),
    }
}

/// The device of a login: its cookie id's digest, and the id itself when it is new (to be set as the cookie).
pub struct Device {
    /// SHA-256 of the device id.
    pub hash: String,
    /// A device id made for this login, for the `Set-Cookie`.
    pub new_id: Option<String>,
}

impl Device {
    /// Adds the device cookie to `reply` when the id is new.
    pub fn set_cookie(&self, reply: Reply) -> Reply {
        match &self.new_id {
            Some(id) => reply.with_header("set-cookie", cookies::device_cookie(id)),
            None => reply,
        }
    }
}

/// How the user proved who they are.
pub struct Proof<'a> {
    /// The assurance level: 1 password, 2 with a second factor.
    pub aal: i64,
    /// The method (`password`, `totp`, `sms`, `backup_code`, `trusted_device`).
    pub method: &'a str,
    /// The second factor used (authenticator or phone id); empty for none.
    pub factor_id: &'a str,
}

impl Proof<'_> {
    /// A password alone.
    pub const PASSWORD: Proof<'static> = Proof { aal: 1, method: "password", factor_id: "" };
}

/// Creates a session for `user_id` (authenticated just now as `proof` says) and answers with it.
pub fn start_session(
    store: &Store,
    request: &Request,
    policy: &crate::bindings::mfa::session::policy::SessionPolicy,
    user_id: &str,
    device: &Device,
    proof: &Proof<'_>,
    now: i64,
) -> Reply {
    let device_hash = device.hash.clone();
    let (ip, user_agent) = client(request);
    let known = match devices::known(store.db(), user_id) {
        Ok(known) => known,
        Err(error) => return unavailable("login", &error),
    };
    let context = LoginContext { device_id: Some(device_hash.clone()), ip: ip.clone(), user_agent: user_agent.clone() };
    // Without a readable address (no spin-client-addr) the device signal still applies; the address one cannot.
    let signals = risk::assess_login(&context, &known)
        .or_else(|_| risk::assess_login(&LoginContext { ip: "0.0.0.0".to_owned(), ..context }, &known))
        .unwrap_or_default();
    let signals: Vec<&str> = signals.into_iter().map(signal_name).collect();
    let token = tokens::new_session_token();
    let Ok(key) = tokens::storage_key(&token) else {
        return Reply::error(500, "internal_error", "a session token could not be made");
    };
    let session = Session {
        key,
        id: tokens::new_challenge_id(),
        user_id: user_id.to_owned(),
        aal: proof.aal,
        method: proof.method.to_owned(),
        factor_id: proof.factor_id.to_owned(),
        auth_time: now,
        created_at: now,
        last_seen_at: now,
        ip: ip.clone(),
        device_label: devices::label(&user_agent),
        user_agent: user_agent.clone(),
        device_hash: device_hash.clone(),
        risk: signals.join(","),
    };
    let uid = Some(user_id);
    let sid = Some(session.id.as_str());
    let admitted = store.admit(&session, policy, now);
    crate::auth::record_expired(store, request, now);
    match admitted {
        Ok(Admitted::Created { evicted }) => {
            let event = |kind, session_id, detail| Happened { kind, user_id: uid, session_id, detail };
            let mut happened = vec![
                event("login_succeeded", sid, json!({"method": proof.method})),
                event("session_created", sid, json!({"aal": proof.aal})),
            ];
            if !signals.is_empty() {
                happened.push(event("login_risk", sid, json!({"signals": signals})));
            }
            if !evicted.is_empty() {
                happened.push(event(
                    "session_evicted",
                    None,
                    json!({"reason": "session_limit", "count": evicted.len()}),
                ));
            }
            record_all(store, request, &happened, now);
            if let Err(error) = devices::remember(store.db(), &known, user_id, &device_hash, &ip, &user_agent, now) {
                eprintln!("login: the device could not be remembered: {error}");
            }
            device.set_cookie(
                Reply::json(201, &token_answer(&session, policy, &token))
                    .with_header("set-cookie", cookies::session_cookie(&token, policy.absolute_lifetime)),
            )
        }
        Ok(Admitted::Refused) => {
            let detail = json!({"reason": "session_limit"});
            record(store, request, "login_refused", uid, None, detail, now);
            Reply::error(
                409,
                "session_limit_reached",
                "this account has the maximum number of sessions: log out of one first",
            )
        }
        Err(error) => unavailable("login", &error),
    }
}
