//! SMS phones, for the signed-in user:
//!
//! - `POST /v1/mfa/sms` `{"phone"}`: a number in E.164 form (`+` and the country code; spaces, dashes, dots and
//!   brackets allowed) gets a code by SMS; the phone waits for confirmation (a new one voids an unconfirmed one).
//! - `POST /v1/mfa/sms/{id}/confirm` `{"code"}`: the code enables SMS for the user.
//! - `DELETE /v1/mfa/sms/{id}`: removes the phone (and ends the sessions established with it).
//!
//! Adding, confirming and removing a phone need step-up (a first phone too: see [`crate::totp_api`]); a phone left
//! unconfirmed dies after the step-up validity. A wrong code changes nothing but the code's checks left.

use serde::Deserialize;
use serde_json::json;

use crate::accounts::json_body;
use crate::auth::{record, unavailable};
use crate::backup_codes::pepper;
use crate::bindings::mfa::core::phone::{self, PhoneError};
use crate::bindings::mfa::session::tokens;
use crate::config::Lookup;
use crate::http::{Reply, Request};
use crate::phones::{self, Phone};
use crate::second_factor::{self, Confirmed};
use crate::sms::{self, SmsCheck};
use crate::step_up::{authenticate_recent, enrollment_alive};

/// The path prefix of one phone.
const PREFIX: &str = "/v1/mfa/sms/";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddPhone {
    phone: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Confirm {
    code: String,
}

/// The `{id}` segment of `/v1/mfa/sms/{id}[/...]`.
fn phone_id(request: &Request) -> &str {
    request.path.strip_prefix(PREFIX).and_then(|rest| rest.split('/').next()).unwrap_or("")
}

/// What an enrollment code for phone `id` is bound to.
fn binding(id: &str) -> String {
    format!("enroll:{id}")
}

fn phone_error(error: PhoneError) -> Reply {
    let reason = match error {
        PhoneError::Empty => "it is empty",
        PhoneError::MissingPlus => "it must start with + and the country code",
        PhoneError::InvalidCharacter => "only digits, spaces, -, ., ( and ) may follow the +",
        PhoneError::LeadingZero => "no country code starts with 0",
        PhoneError::TooShort => "it has fewer than 7 digits",
        PhoneError::TooLong => "it has more than 15 digits",
        PhoneError::UnknownCountryCode => "its country code does not exist",
    };
    Reply::error(400, "invalid_phone_number", &format!("the phone number is not valid E.164: {reason}"))
}

/// `POST /v1/mfa/sms`.
pub fn add(request: &Request, get: Lookup<'_>) -> Reply {
    let (store, session, _, now) = match authenticate_recent(request, get) {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    let body: AddPhone = match json_body(request) {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let number = match phone::normalize_phone(&body.phone) {
        Ok(number) => number,
        Err(error) => return phone_error(error),
    };
    if let Err(refusal) = pepper(get) {
        return refusal;
    }
    let phone = Phone {
        id: tokens::new_challenge_id(),
        user_id: session.user_id.clone(),
        e164: number.e164,
        country_code: number.country_code,
        enabled: false,
        created_at: now,
        confirmed_at: None,
    };
    if let Err(error) = phones::insert(store.db(), &phone) {
        return unavailable("sms", &error);
    }
    let sid = Some(session.id.as_str());
    record(
        &store,
        request,
        "mfa_sms_enrollment_started",
        Some(&session.user_id),
        sid,
        json!({"factor_id": phone.id}),
        now,
    );
    match sms::send_code(&store, request, get, &phone, &binding(&phone.id), sid, now) {
        Ok(expires_at) => Reply::json(
            201,
            &json!({"id": phone.id, "phone": phone.masked(), "enabled": false, "code_expires_at": expires_at}),
        ),
        Err(refusal) => {
            // Nothing to confirm: the phone goes again.
            if let Err(error) = crate::factors::remove(store.db(), &session.user_id, &phone.id, "sms") {
                eprintln!("sms: an unconfirmable phone could not be removed: {error}");
            }
            refusal
        }
    }
}

/// `POST /v1/mfa/sms/{id}/confirm`.
pub fn confirm(request: &Request, get: Lookup<'_>) -> Reply {
    let (store, session, policy, now) = match authenticate_recent(request, get) {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    let body: Confirm = match json_body(request) {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let (pepper, limits) = match (pepper(get), crate::auth::throttles_or_reply(get)) {
        (Ok(pepper), Ok(limits)) => (pepper, limits),
        (Err(refusal), _) | (_, Err(refusal)) => return refusal,
    };
    let db = store.db();
    let phone = match phones::find(db, &session.user_id, phone_id(request)) {
        Ok(Some(phone)) if !phone.enabled && enrollment_alive(phone.created_at, &policy, now) => phone,
        Ok(Some(phone)) if !phone.enabled => {
            return Reply::error(404, "enrollment_expired", "this phone was left unconfirmed too long: add it again");
        }
        Ok(_) => return Reply::error(404, "enrollment_not_found", "no phone waiting for confirmation with this id"),
        Err(error) => return unavailable("sms", &error),
    };
    let uid = Some(session.user_id.as_str());
    let sid = Some(session.id.as_str());
    match sms::check(db, &pepper, &limits, &binding(&phone.id), &body.code, now) {
        Ok(SmsCheck::Accepted(_)) => {}
        Ok(SmsCheck::Wrong(left)) => {
            record(&store, request, "mfa_sms_confirmation_failed", uid, sid, json!({"factor_id": phone.id}), now);
            return Reply::json(
                400,
                &json!({"error": {"code": "invalid_code", "message": "the code is wrong", "checks_left": left}}),
            );
        }
        Ok(SmsCheck::Dead) => {
            return Reply::error(
                400,
                "sms_code_invalid",
                "the code expired or was tried too often: add the phone again",
            );
        }
        Err(refusal) => return refusal,
    }
    let confirmed = Confirmed {
        factor_id: &phone.id,
        event: ("mfa_sms_enabled", json!({"factor_id": phone.id})),
        answer: json!({"id": phone.id, "phone": phone.masked(), "enabled": true}),
    };
    second_factor::enable(&store, request, get, &session, confirmed, now)
}

/// `DELETE /v1/mfa/sms/{id}`.
pub fn remove(request: &Request, get: Lookup<'_>) -> Reply {
    second_factor::remove(request, get, phone_id(request), "sms")
}
