//! Login with a second factor. After the password, a user who has a second factor gets a challenge instead of a
//! session: `200 {"mfa_required": true, "challenge_id", "methods", "expires_at"}`. The challenge id is 256 bits,
//! stored only as its SHA-256, single use, and lives 5 minutes; it dies after the policy's checks per code (5)
//! wrong codes (each check is counted before the code is looked at, atomically, so parallel guesses cannot exceed
//! it). `POST /v1/login/verify` `{"challenge_id", "method": "totp", "code"}` answers a new session with
//! `aal` 2 (fresh token, `auth_time` now, the method), exactly as password login answers one.
//!
//! A TOTP code is checked against each of the user's authenticators with the same compare-and-set on the last
//! accepted step as enrollment, so a code is never accepted twice (the refused reuse is an event the user sees);
//! the challenge is consumed with a compare-and-set too, so one challenge makes at most one session.

use serde::Deserialize;
use serde_json::json;

use crate::accounts::json_body;
use crate::auth::{policy_or_reply, record, unavailable};
use crate::bindings::mfa::session::{throttle, tokens};
use crate::clock::now;
use crate::config::Lookup;
use crate::factors;
use crate::http::{Reply, Request};
use crate::login::{Device, Proof, start_session};
use crate::sessions::Store;
use crate::sql::SqlValue;
use crate::totp_api::{CodeCheck, check_code, key_ring};

/// How long a challenge lives.
const CHALLENGE_SECONDS: i64 = 300;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Verification {
    challenge_id: String,
    method: String,
    code: String,
}

/// A live challenge as stored.
struct Challenge {
    key: String,
    user_id: String,
    device_hash: String,
}

/// Issues a challenge for `user_id`, whose password was just verified, on `device`.
pub fn issue(store: &Store, request: &Request, user_id: &str, device: &Device, now: i64) -> Reply {
    let id = tokens::new_session_token();
    let Ok(key) = tokens::storage_key(&id) else {
        return Reply::error(500, "internal_error", "a challenge could not be made");
    };
    let methods = ["totp"];
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

/// Takes one check of the live challenge under `key`, atomically and only while it has checks left: the challenge
/// and how many checks it has now used, or none when it is unknown, used, expired or out of checks.
fn take_check(store: &Store, key: &str, max_checks: u32, now: i64) -> Result<Option<(Challenge, u32)>, Reply> {
    let rows = store
        .db()
        .query(
            "UPDATE login_challenges SET failures = failures + 1 \
             WHERE id_hash = $1 AND used_at IS NULL AND expires_at > $2 AND failures < $3 \
             RETURNING user_id, device_hash, failures",
            &[SqlValue::Text(key.to_owned()), SqlValue::Int(now), SqlValue::Int(i64::from(max_checks))],
        )
        .map_err(|error| unavailable("challenge", &error))?;
    Ok(rows.first().and_then(|row| match row.as_slice() {
        [user, device, checks] => Some((
            Challenge {
                key: key.to_owned(),
                user_id: user.as_str()?.to_owned(),
                device_hash: device.as_str().unwrap_or("").to_owned(),
            },
            u32::try_from(checks.as_i64()?).unwrap_or(u32::MAX),
        )),
        _ => None,
    }))
}

/// `POST /v1/login/verify`.
pub fn verify(request: &Request, get: Lookup<'_>) -> Reply {
    let body: Verification = match json_body(request) {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let dead =
        || Reply::error(401, "challenge_invalid", "this challenge is unknown, used, expired or dead: log in again");
    let Ok(key) = tokens::storage_key(body.challenge_id.trim()) else { return dead() };
    if body.method != "totp" {
        return Reply::error(400, "unsupported_method", "the method must be one the challenge offers: totp");
    }
    let (policy, limits) = match (policy_or_reply(get), crate::policy::throttles(get)) {
        (Ok(policy), Ok(limits)) => (policy, limits),
        (Err(refusal), _) => return refusal,
        (_, Err(error)) => {
            eprintln!("{error}");
            return Reply::error(500, "misconfigured", "the throttle variables are invalid");
        }
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
        Ok(None) => return dead(),
        Err(refusal) => return refusal,
    };
    let ring = match key_ring(get) {
        Ok(ring) => ring,
        Err(refusal) => return refusal,
    };
    let authenticators = match factors::list(store.db(), &challenge.user_id) {
        Ok(all) => all.into_iter().filter(|totp| totp.enabled).collect::<Vec<_>>(),
        Err(error) => return unavailable("challenge", &error),
    };
    let uid = Some(challenge.user_id.as_str());
    let mut outcome = CodeCheck::Wrong;
    let mut used = None;
    for totp in &authenticators {
        match check_code(store.db(), &ring, totp, &body.code, false, now) {
            Ok(CodeCheck::Accepted) => {
                outcome = CodeCheck::Accepted;
                used = Some(totp.id.clone());
                break;
            }
            Ok(CodeCheck::Replayed) => {
                outcome = CodeCheck::Replayed;
                used = Some(totp.id.clone());
            }
            Ok(CodeCheck::Wrong) => {}
            Err(refusal) => return refusal,
        }
    }
    match outcome {
        CodeCheck::Accepted => {
            // Consume the challenge: only one request can.
            let consumed = store.db().execute(
                "UPDATE login_challenges SET used_at = $1 WHERE id_hash = $2 AND used_at IS NULL",
                &[SqlValue::Int(now), SqlValue::Text(challenge.key.clone())],
            );
            match consumed {
                Ok(1) => {}
                Ok(_) => return dead(),
                Err(error) => return unavailable("challenge", &error),
            }
            record(
                &store,
                request,
                "second_factor_succeeded",
                uid,
                None,
                json!({"method": "totp", "factor_id": used}),
                now,
            );
            let device = Device { hash: challenge.device_hash.clone(), new_id: None };
            start_session(&store, request, &policy, &challenge.user_id, &device, &Proof { aal: 2, method: "totp" }, now)
        }
        CodeCheck::Replayed | CodeCheck::Wrong => {
            let replayed = matches!(outcome, CodeCheck::Replayed);
            let left = throttle::checks_left(limits, checked);
            if replayed {
                record(&store, request, "totp_replay_refused", uid, None, json!({"factor_id": used}), now);
            }
            let detail = json!({"method": "totp", "reason": if replayed { "replayed" } else { "wrong_code" }, "checks_left": left});
            record(&store, request, "second_factor_failed", uid, None, detail, now);
            let (code, message) = if replayed {
                ("code_already_used", "this code was already used: wait for the next one")
            } else {
                ("invalid_code", "the code is wrong or expired")
            };
            Reply::json(401, &json!({"error": {"code": code, "message": message, "checks_left": left}}))
        }
    }
}
