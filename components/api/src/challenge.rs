//! Login with a second factor. After the password, a user who has a second factor gets a challenge instead of a
//! session (unless the browser is one of their trusted devices): `200 {"mfa_required": true, "challenge_id",
//! "methods", "expires_at"}`. The challenge id is 256 bits, stored only as its SHA-256, single use, and lives 5
//! minutes; it dies after the policy's checks per code (5) wrong codes (each check is counted before the code is
//! looked at, atomically, so parallel guesses cannot exceed it). The product backend can also start one for a user
//! it authenticated itself (the service API).
//!
//! - `POST /v1/login/sms` `{"challenge_id", "phone_id"?}`: sends an SMS code for this challenge.
//! - `POST /v1/login/verify` `{"challenge_id", "method": "totp" | "sms" | "backup_code", "code",
//!   "remember_device"?}`: answers a new session with `aal` 2 (fresh token, `auth_time` now, the method), exactly as
//!   password login answers one; `remember_device` makes the browser's device trusted (30 days).
//!
//! Codes are checked by [`crate::second_factor`] under the user's lockout; the challenge is consumed with a
//! compare-and-set, so one challenge makes at most one session.

use serde::Deserialize;
use serde_json::json;

use crate::accounts::json_body;
use crate::auth::{policy_or_reply, record, throttles_or_reply, unavailable};
use crate::bindings::mfa::session::{throttle, tokens};
use crate::clock::now;
use crate::config::Lookup;
use crate::http::{Reply, Request};
use crate::login::{Device, Proof, start_session};
use crate::phones::Phone;
use crate::second_factor::{self, Attempt, Method, methods_of, refused_reply};
use crate::sessions::Store;
use crate::sql::SqlValue;
use crate::trusted_devices;

/// How long a challenge lives.
const CHALLENGE_SECONDS: i64 = 300;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Verification {
    challenge_id: String,
    method: String,
    code: String,
    #[serde(default)]
    remember_device: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SendSms {
    challenge_id: String,
    #[serde(default)]
    phone_id: Option<String>,
}

/// A live challenge as stored.
struct Challenge {
    key: String,
    user_id: String,
    device_hash: String,
    methods: String,
}

/// Issues a challenge for `user_id`, whose first factor was just verified, on `device` (no device: the product
/// backend's challenge, with an empty device hash). Answers 409 `no_second_factor` when the user has none.
pub fn issue(store: &Store, request: &Request, user_id: &str, device: &Device, now: i64) -> Reply {
    let methods = match methods_of(store, user_id) {
        Ok(methods) if methods.is_empty() => {
            return Reply::error(409, "no_second_factor", "this user has no second factor to verify");
        }
        Ok(methods) => methods,
        Err(refusal) => return refusal,
    };
    let id = tokens::new_session_token();
    let Ok(key) = tokens::storage_key(&id) else {
        return Reply::error(500, "internal_error", "a challenge could not be made");
    };
    let expires_at = now.saturating_add(CHALLENGE_SECONDS);
    let db = store.db();
    let stored =
        db.execute("DELETE FROM login_challenges WHERE expires_at <= $1", &[SqlValue::Int(now)]).and_then(|_| {
            db.execute(
                "INSERT INTO login_challenges (id_hash, user_id, methods, created_at, expires_at, device_hash) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    SqlValue::Text(key),
                    SqlValue::Text(user_id.to_owned()),
                    SqlValue::Text(methods.join(",")),
                    SqlValue::Int(now),
                    SqlValue::Int(expires_at),
                    SqlValue::Text(device.hash.clone()),
                ],
            )
        });
    if let Err(error) = stored {
        return unavailable("challenge", &error);
    }
    record(store, request, "login_challenge_issued", Some(user_id), None, json!({"methods": methods}), now);
    device.set_cookie(Reply::json(
        200,
        &json!({"mfa_required": true, "challenge_id": id, "methods": methods, "expires_at": expires_at}),
    ))
}

/// What an SMS code sent for the challenge under `key` is bound to.
fn sms_binding(key: &str) -> String {
    format!("challenge:{key}")
}

/// Takes one check of the live challenge under `key`, atomically and only while it has checks left: the challenge
/// and how many checks it has now used, or none when it is unknown, used, expired or out of checks.
fn take_check(store: &Store, key: &str, max_checks: u32, now: i64) -> Result<Option<(Challenge, u32)>, Reply> {
    let rows = store
        .db()
        .query(
            "UPDATE login_challenges SET failures = failures + 1 \
             WHERE id_hash = $1 AND used_at IS NULL AND expires_at > $2 AND failures < $3 \
             RETURNING user_id, device_hash, methods, failures",
            &[SqlValue::Text(key.to_owned()), SqlValue::Int(now), SqlValue::Int(i64::from(max_checks))],
        )
        .map_err(|error| unavailable("challenge", &error))?;
    Ok(rows.first().and_then(|row| match row.as_slice() {
        [user, device, methods, checks] => Some((
            Challenge {
                key: key.to_owned(),
                user_id: user.as_str()?.to_owned(),
                device_hash: device.as_str().unwrap_or("").to_owned(),
                methods: methods.as_str().unwrap_or("").to_owned(),
            },
            u32::try_from(checks.as_i64()?).unwrap_or(u32::MAX),
        )),
        _ => None,
    }))
}

fn dead() -> Reply {
    Reply::error(401, "challenge_invalid", "this challenge is unknown, used, expired or dead: log in again")
}

/// The refusal of a challenge that cannot be used (under storage key `key`), recorded as a
/// `login_challenge_refused` event: its user and why (`used`, `expired`, `out_of_checks`), or `unknown`.
fn refused(store: &Store, request: &Request, key: &str, max_checks: u32, now: i64) -> Reply {
    let found = store.db().query(
        "SELECT user_id, used_at, expires_at, failures FROM login_challenges WHERE id_hash = $1",
        &[SqlValue::Text(key.to_owned())],
    );
    let (user_id, reason) = match found.as_deref().map(|rows| rows.first().map(Vec::as_slice)) {
        Ok(Some([user, used, expires, failures])) => {
            let reason = if used.as_i64().is_some() {
                "used"
            } else if expires.as_i64().is_some_and(|at| at <= now) {
                "expired"
            } else if failures.as_i64().is_some_and(|n| n >= i64::from(max_checks)) {
                "out_of_checks"
            } else {
                "unavailable"
            };
            (user.as_str().map(str::to_owned), reason)
        }
        _ => (None, "unknown"),
    };
    record(store, request, "login_challenge_refused", user_id.as_deref(), None, json!({"reason": reason}), now);
    dead()
}

/// `POST /v1/login/sms`.
pub fn send_sms(request: &Request, get: Lookup<'_>) -> Reply {
    let body: SendSms = match json_body(request) {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let Ok(key) = tokens::storage_key(body.challenge_id.trim()) else { return dead() };
    let limits = match throttles_or_reply(get) {
        Ok(limits) => limits,
        Err(refusal) => return refusal,
    };
    let store = match Store::open(get) {
        Ok(store) => store,
        Err(error) => return unavailable("challenge", &error),
    };
    let now = now();
    let live = store.db().query(
        "SELECT user_id, methods FROM login_challenges \
         WHERE id_hash = $1 AND used_at IS NULL AND expires_at > $2 AND failures < $3",
        &[SqlValue::Text(key.clone()), SqlValue::Int(now), SqlValue::Int(i64::from(limits.checks_per_code))],
    );
    let user_id = match live {
        Ok(rows) => match rows.first().map(Vec::as_slice) {
            Some([user, methods]) if methods.as_str().is_some_and(|m| m.split(',').any(|m| m == "sms")) => {
                user.as_str().unwrap_or_default().to_owned()
            }
            Some(_) => return Reply::error(400, "unsupported_method", "this challenge does not offer SMS"),
            None => return refused(&store, request, &key, limits.checks_per_code, now),
        },
        Err(error) => return unavailable("challenge", &error),
    };
    let phone = match pick_phone(&store, &user_id, body.phone_id.as_deref()) {
        Ok(phone) => phone,
        Err(refusal) => return refusal,
    };
    match crate::sms::send_code(&store, request, get, &phone, &sms_binding(&key), None, now) {
        Ok(expires_at) => Reply::json(200, &json!({"sent": true, "phone": phone.masked(), "expires_at": expires_at})),
        Err(refusal) => refusal,
    }
}

/// The user's enabled phone `phone_id`, or their first one.
pub fn pick_phone(store: &Store, user_id: &str, phone_id: Option<&str>) -> Result<Phone, Reply> {
    let phones = crate::phones::list(store.db(), user_id).map_err(|error| unavailable("phones", &error))?;
    phones
        .into_iter()
        .filter(|phone| phone.enabled)
        .find(|phone| phone_id.is_none_or(|id| id == phone.id))
        .ok_or_else(|| Reply::error(404, "phone_not_found", "no confirmed phone with this id"))
}

/// `POST /v1/login/verify`.
pub fn verify(request: &Request, get: Lookup<'_>) -> Reply {
    let body: Verification = match json_body(request) {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let Ok(key) = tokens::storage_key(body.challenge_id.trim()) else { return dead() };
    let Some(method) = Method::parse(&body.method) else {
        return Reply::error(400, "unsupported_method", "the method must be totp, sms or backup_code");
    };
    let (policy, limits) = match (policy_or_reply(get), throttles_or_reply(get)) {
        (Ok(policy), Ok(limits)) => (policy, limits),
        (Err(refusal), _) | (_, Err(refusal)) => return refusal,
    };
    let store = match Store::open(get) {
        Ok(store) => store,
        Err(error) => return unavailable("challenge", &error),
    };
    let now = now();
    // Each check is counted before the code is looked at, atomically and only while checks are left, so parallel
    // guesses cannot exceed what a challenge allows; a success consumes the challenge anyway.
    let (challenge, checked) = match take_check(&store, &key, limits.checks_per_code, now) {
        Ok(Some(taken)) => taken,
        Ok(None) => return refused(&store, request, &key, limits.checks_per_code, now),
        Err(refusal) => return refusal,
    };
    if !challenge.methods.split(',').any(|offered| offered == method.name()) {
        return Reply::error(400, "unsupported_method", &format!("this challenge offers: {}", challenge.methods));
    }
    let binding = sms_binding(&challenge.key);
    let attempt =
        Attempt { user_id: &challenge.user_id, session_id: None, method, code: &body.code, sms_binding: &binding };
    let verified = match second_factor::verify(&store, request, get, &attempt, now) {
        Ok(verified) => verified,
        Err(refused) => return refused_reply(refused, Some(throttle::checks_left(limits, checked))),
    };
    // Consume the challenge: only one request can.
    match store.db().execute(
        "UPDATE login_challenges SET used_at = $1 WHERE id_hash = $2 AND used_at IS NULL",
        &[SqlValue::Int(now), SqlValue::Text(challenge.key.clone())],
    ) {
        Ok(1) => {}
        Ok(_) => return refused(&store, request, &challenge.key, limits.checks_per_code, now),
        Err(error) => return unavailable("challenge", &error),
    }
    let user_id = challenge.user_id.as_str();
    if body.remember_device && !challenge.device_hash.is_empty() {
        let label = crate::devices::label(request.header("user-agent").unwrap_or(""));
        match trusted_devices::trust(
            store.db(),
            user_id,
            &challenge.device_hash,
            &label,
            now,
            policy.trusted_device_lifetime,
        ) {
            Ok(()) => record(&store, request, "device_trusted", Some(user_id), None, json!({"label": label}), now),
            Err(error) => eprintln!("challenge: the device could not be trusted: {error}"),
        }
    }
    let device = Device { hash: challenge.device_hash.clone(), new_id: None };
    let proof = Proof { aal: 2, method: verified.method.name(), factor_id: &verified.factor_id };
    start_session(&store, request, &policy, user_id, &device, &proof, now)
}
