//! Checking a second factor, for the login challenge and for step-up alike: `totp` (any of the user's
//! authenticators, replay-safe), `sms` (the code sent for this challenge or step-up) or `backup_code` (consumed).
//!
//! Around every check sits the per-user lockout ([`crate::lockout`]): a locked user is refused before the code is
//! looked at (429 + `Retry-After`, or 403 once disabled); every failure is counted and recorded as a
//! `second_factor_failed` event (with `second_factor_locked` / `second_factor_disabled` when it caused one), every
//! success as `second_factor_succeeded`.
//!
//! Also here: enabling a confirmed second factor with what that changes besides the factor ([`enable`]), and
//! removing one ([`remove`]).

use serde_json::json;

use crate::auth::{Happened, record, record_all, throttles_or_reply, unavailable};
use crate::backup_codes::{self, Used};
use crate::config::Lookup;
use crate::factors;
use crate::http::{Reply, Request};
use crate::keyring::KeyRing;
use crate::lockout;
use crate::sessions::{Session, Store};
use crate::sms::{self, SmsCheck};
use crate::step_up::authenticate_recent;
use crate::totp_api::{CodeCheck, check_code, key_ring};
use crate::trusted_devices;

/// A second-factor method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// A code from an authenticator app.
    Totp,
    /// A code sent by SMS.
    Sms,
    /// A backup code.
    BackupCode,
}

impl Method {
    /// The method named `name` (`totp`, `sms`, `backup_code`).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "totp" => Some(Self::Totp),
            "sms" => Some(Self::Sms),
            "backup_code" => Some(Self::BackupCode),
            _ => None,
        }
    }

    /// Its name in the API.
    pub fn name(self) -> &'static str {
        match self {
            Self::Totp => "totp",
            Self::Sms => "sms",
            Self::BackupCode => "backup_code",
        }
    }
}

/// The methods the user can verify with now: `totp` with an authenticator, `sms` with a phone, `backup_code` with
/// codes left.
pub fn methods_of(store: &Store, user_id: &str) -> Result<Vec<&'static str>, Reply> {
    let db = store.db();
    let fail = |error: crate::sql::DbError| unavailable("second factors", &error);
    let mut methods = Vec::new();
    if factors::list(db, user_id).map_err(fail)?.iter().any(|totp| totp.enabled) {
        methods.push("totp");
    }
    if crate::phones::list(db, user_id).map_err(fail)?.iter().any(|phone| phone.enabled) {
        methods.push("sms");
    }
    if backup_codes::remaining(db, user_id).map_err(fail)? > 0 {
        methods.push("backup_code");
    }
    Ok(methods)
}

/// One code to check.
pub struct Attempt<'a> {
    /// Whose.
    pub user_id: &'a str,
    /// The session it is for (step-up), if any.
    pub session_id: Option<&'a str>,
    /// The method.
    pub method: Method,
    /// The code as typed.
    pub code: &'a str,
    /// What an SMS code must have been sent for.
    pub sms_binding: &'a str,
}

/// A verified second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The method.
    pub method: Method,
    /// The authenticator or phone (empty for a backup code).
    pub factor_id: String,
}

/// Why a code was refused, for the caller to answer (it may add what it knows, such as a challenge's checks left).
pub enum Refused {
    /// The code is wrong, used or dead.
    Wrong {
        /// The error code of the 401.
        code: &'static str,
        /// Its message.
        message: &'static str,
        /// The checks an SMS code has left.
        checks_left: Option<u32>,
    },
    /// Any other answer (locked, disabled, unavailable...), as it is.
    Reply(Reply),
}

impl From<Reply> for Refused {
    fn from(reply: Reply) -> Self {
        Self::Reply(reply)
    }
}

/// Checks `attempt` under the user's lockout.
pub fn verify(
    store: &Store,
    request: &Request,
    get: Lookup<'_>,
    attempt: &Attempt<'_>,
    now: i64,
) -> Result<Verified, Refused> {
    let limits = throttles_or_reply(get)?;
    let db = store.db();
    let uid = Some(attempt.user_id);
    // What checking needs is read first: a misconfiguration must not count as the user's failure.
    let ring = if attempt.method == Method::Totp { Some(key_ring(get)?) } else { None };
    let pepper = if attempt.method == Method::Totp { Vec::new() } else { backup_codes::pepper(get)? };
    // The attempt is counted before the code is looked at (taken back if it is right).
    let failure = match lockout::take_attempt(db, &limits, attempt.user_id, now) {
        Ok(Ok(failure)) => failure,
        Ok(Err(refusal)) => {
            let detail = json!({"method": attempt.method.name(), "reason": "locked"});
            record(store, request, "second_factor_refused", uid, attempt.session_id, detail, now);
            return Err(refusal.into());
        }
        Err(error) => return Err(unavailable("second factor", &error).into()),
    };
    let outcome = match (attempt.method, &ring) {
        (Method::Totp, Some(ring)) => check_totp(store, request, ring, attempt, now)?,
        (Method::Totp, None) => return Err(Reply::error(500, "internal_error", "no key ring").into()),
        (Method::BackupCode, _) => match backup_codes::consume(db, &pepper, attempt.user_id, attempt.code)? {
            Used::Accepted => Ok(String::new()),
            Used::AlreadyUsed => Err(("code_already_used", "this backup code was already used", None)),
            Used::Wrong => Err(("invalid_code", "the code is wrong", None)),
        },
        (Method::Sms, _) => match sms::check(db, &pepper, &limits, attempt.sms_binding, attempt.code, now)? {
            SmsCheck::Accepted(factor_id) => Ok(factor_id),
            SmsCheck::Wrong(left) => Err(("invalid_code", "the code is wrong", Some(left))),
            SmsCheck::Dead => Err(("sms_code_invalid", "no live SMS code for this: send a new one", Some(0))),
        },
    };
    match outcome {
        Ok(factor_id) => {
            if let Err(error) = lockout::succeeded(db, attempt.user_id, &failure) {
                eprintln!("second factor: the lockout could not be reset: {error}");
            }
            let detail = json!({"method": attempt.method.name(), "factor_id": factor_id});
            record(store, request, "second_factor_succeeded", uid, attempt.session_id, detail, now);
            Ok(Verified { method: attempt.method, factor_id })
        }
        Err((code, message, checks_left)) => {
            let detail = json!({"method": attempt.method.name(), "reason": code});
            let events = failure.events();
            let mut happened =
                vec![Happened { kind: "second_factor_failed", user_id: uid, session_id: attempt.session_id, detail }];
            happened.extend(events.iter().map(|(kind, detail)| Happened {
                kind,
                user_id: uid,
                session_id: attempt.session_id,
                detail: detail.clone(),
            }));
            record_all(store, request, &happened, now);
            match failure.locked_for {
                _ if failure.disabled => Err(Refused::Reply(lockout::disabled_reply())),
                Some(seconds) => Err(Refused::Reply(lockout::locked_reply(seconds))),
                None => Err(Refused::Wrong { code, message, checks_left }),
            }
        }
    }
}

type Outcome = Result<String, (&'static str, &'static str, Option<u32>)>;

/// A TOTP code against each of the user's authenticators (a replay is an event the user sees).
fn check_totp(
    store: &Store,
    request: &Request,
    ring: &KeyRing,
    attempt: &Attempt<'_>,
    now: i64,
) -> Result<Outcome, Refused> {
    let authenticators = factors::list(store.db(), attempt.user_id)
        .map_err(|error| unavailable("second factor", &error))?
        .into_iter()
        .filter(|totp| totp.enabled);
    let mut replayed = None;
    for totp in authenticators {
        match check_code(store.db(), ring, &totp, attempt.code, false, now)? {
            CodeCheck::Accepted => return Ok(Ok(totp.id)),
            CodeCheck::Replayed => replayed = Some(totp.id),
            CodeCheck::Wrong => {}
        }
    }
    Ok(match replayed {
        Some(factor_id) => {
            let detail = json!({"factor_id": factor_id});
            record(store, request, "totp_replay_refused", Some(attempt.user_id), attempt.session_id, detail, now);
            Err(("code_already_used", "this code was already used: wait for the next one", None))
        }
        None => Err(("invalid_code", "the code is wrong or expired", None)),
    })
}

/// The answer for a refused code.
pub fn refused_reply(refused: Refused, challenge_checks_left: Option<u32>) -> Reply {
    match refused {
        Refused::Reply(reply) => reply,
        Refused::Wrong { code, message, checks_left } => {
            let error = match challenge_checks_left.or(checks_left) {
                Some(left) => json!({"code": code, "message": message, "checks_left": left}),
                None => json!({"code": code, "message": message}),
            };
            Reply::json(401, &json!({"error": error}))
        }
    }
}

/// A second factor whose confirmation code was just accepted, to enable ([`enable`]).
pub struct Confirmed<'a> {
    /// The factor (authenticator or phone).
    pub factor_id: &'a str,
    /// The event that records it (`mfa_totp_enabled`, `mfa_sms_enabled`) and its detail.
    pub event: (&'a str, serde_json::Value),
    /// The answer's body; the backup codes are added to it for a first factor.
    pub answer: serde_json::Value,
}

/// Enables the session user's `confirmed` factor (its code already accepted, so a wrong code never gets here):
/// first what enabling changes besides the factor (the user's trusted devices are voided and, for their first
/// factor, the backup codes are made, to show once), then the factor, then its events; answers 200 with the
/// answer and, for a first factor, the backup codes. Should the factor be gone or enabled meanwhile, 404.
pub fn enable(
    store: &Store,
    request: &Request,
    get: Lookup<'_>,
    session: &Session,
    confirmed: Confirmed<'_>,
    now: i64,
) -> Reply {
    let (uid, sid) = (Some(session.user_id.as_str()), Some(session.id.as_str()));
    let first = match factors::has_any(store.db(), &session.user_id) {
        Ok(has) => !has,
        Err(error) => return unavailable("factors", &error),
    };
    if let Err(refusal) = trusted_devices::void_after_change(store, request, &session.user_id, sid, "factor_added", now)
    {
        return refusal;
    }
    let codes = if first {
        let made = backup_codes::pepper(get)
            .and_then(|pepper| backup_codes::replace(store.db(), &pepper, &session.user_id, now));
        match made {
            Ok(codes) => Some(codes),
            Err(refusal) => return refusal,
        }
    } else {
        None
    };
    match factors::enable(store.db(), confirmed.factor_id, now) {
        Ok(true) => {}
        Ok(false) => {
            return Reply::error(404, "enrollment_not_found", "no enrollment in progress with this id");
        }
        Err(error) => return unavailable("factors", &error),
    }
    let (kind, detail) = confirmed.event;
    let mut answer = confirmed.answer;
    let mut happened = vec![Happened { kind, user_id: uid, session_id: sid, detail }];
    if let Some(codes) = codes {
        let detail = json!({"count": codes.len()});
        happened.push(Happened { kind: "backup_codes_created", user_id: uid, session_id: sid, detail });
        if let Some(fields) = answer.as_object_mut() {
            fields.insert("backup_codes".to_owned(), json!(codes));
        }
    }
    record_all(store, request, &happened, now);
    Reply::json(200, &answer)
}

/// Removes the signed-in user's second factor `id` of `kind` (`totp` or `sms`), with step-up, and what depended on
/// it: the sessions established (or stepped up) with it end (all but the one acting, just stepped up), trusted
/// devices are void, and backup codes go with the last factor.
pub fn remove(request: &Request, get: Lookup<'_>, id: &str, kind: &str) -> Reply {
    let (store, session, _, now) = match authenticate_recent(request, get) {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    let db = store.db();
    let (user_id, sid) = (session.user_id.as_str(), Some(session.id.as_str()));
    let exists = match kind {
        "sms" => crate::phones::find(db, user_id, id).map(|phone| phone.is_some()),
        _ => factors::find(db, user_id, id).map(|totp| totp.is_some()),
    };
    match exists {
        Ok(true) => {}
        Ok(false) => {
            return Reply::error(404, "factor_not_found", "you have no second factor of this kind with this id");
        }
        Err(error) => return unavailable("factors", &error),
    }
    // What depended on the factor goes first; the factor last, so a failure half-way leaves it removable again
    // and never leaves a session or trusted device that outlived it.
    match store.end_established_with(user_id, id, &session.id, now) {
        Ok(ended) if !ended.is_empty() => {
            let detail = json!({"reason": "factor_removed", "factor_id": id, "sessions": ended});
            record(&store, request, "sessions_revoked", Some(user_id), sid, detail, now);
        }
        Ok(_) => {}
        Err(error) => return unavailable("sessions", &error),
    }
    if let Err(refusal) = trusted_devices::void_after_change(&store, request, user_id, sid, "factor_removed", now) {
        return refusal;
    }
    let removed = crate::sms::forget_codes_of(db, user_id, id).and_then(|()| factors::remove(db, user_id, id, kind));
    match removed {
        Ok(true) => {}
        Ok(false) => {
            return Reply::error(404, "factor_not_found", "you have no second factor of this kind with this id");
        }
        Err(error) => return unavailable("factors", &error),
    }
    record(&store, request, &format!("mfa_{kind}_removed"), Some(user_id), sid, json!({"factor_id": id}), now);
    match factors::has_any(db, user_id) {
        Ok(false) => {
            if let Err(error) = backup_codes::remove_all(db, user_id) {
                eprintln!("backup codes could not be removed: {error}");
            }
        }
        Ok(true) => {}
        Err(error) => eprintln!("factors: {error}"),
    }
    Reply::json(200, &json!({"removed": id}))
}
