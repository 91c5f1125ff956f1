//! Passkeys (WebAuthn): registration, and the assertions that sign in with one, as the second factor of a login
//! challenge or a step-up ([`super::verify`]) or alone (passwordless, [`passwordless`]). mfa:core's `webauthn`
//! interface verifies every ceremony; this file issues the challenges, finds what they were for, and keeps the
//! credentials.
//!
//! A challenge is 256 random bits (the token generator's), stored only as its SHA-256 with what it is for, whose
//! it is and what it is bound to (the registering session, the login challenge, the step-up's session), lives 5
//! minutes and is taken (deleted) before the answer is verified, so it is single use whatever the answer. The
//! user handle given to authenticators is a random per-user value, never the email or the user id. A counter that
//! did not advance is a `passkey_counter_regressed` event and, unless `webauthn_counter_regression` is `allow`, a
//! refusal.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Value, json};

use super::factors;
use crate::bindings::mfa::core::webauthn::{self, CounterCheck, RelyingParty, StoredCredential, WebauthnError};
use crate::bindings::mfa::session::tokens;
use crate::config::passkeys::PasskeySettings;
use crate::domain::consent;
use crate::domain::context::Ctx;
use crate::domain::error::Error;
use crate::domain::events;
use crate::domain::throttles;
use crate::model::{EventKind, FactorKind};
use crate::store::factors as factor_records;
use crate::store::lockout as lockout_records;
use crate::store::passkeys::{self as stored, CeremonyRecord, Passkey};
use crate::store::sessions::Session;
use crate::store::sql::DbError;
use crate::store::users;

/// How long a ceremony's challenge lives, in seconds (what the browser is told too).
const CEREMONY_SECONDS: i64 = 300;

/// The algorithms offered at registration, most preferred first: ES256, EdDSA, RS256.
const ALGORITHMS: [i32; 3] = [-7, -8, -257];

/// The purpose of a registration challenge.
const REGISTER: &str = "register";
/// The purpose of a challenge for a second factor (login challenge or step-up).
const SECOND_FACTOR: &str = "second_factor";
/// The purpose of a passwordless sign-in's challenge.
const PASSWORDLESS: &str = "passwordless";

/// A credential as the browser's `PublicKeyCredential.toJSON()` gives it (binary fields base64url).
#[derive(Debug, Clone, Deserialize)]
pub struct PasskeyResponse {
    /// The credential id.
    pub id: String,
    /// The credential id again (WebAuthn sends both; they must agree).
    #[serde(rename = "rawId")]
    pub raw_id: String,
    /// `public-key`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The authenticator's response.
    pub response: ResponseParts,
}

/// The parts of an authenticator's response (registration or assertion).
#[derive(Debug, Clone, Deserialize)]
pub struct ResponseParts {
    /// The client data JSON.
    #[serde(rename = "clientDataJSON")]
    pub client_data_json: String,
    /// Registration: the attestation object.
    #[serde(rename = "attestationObject", default)]
    pub attestation_object: Option<String>,
    /// Registration: the transports the browser reported.
    #[serde(default)]
    pub transports: Option<Vec<String>>,
    /// Assertion: the authenticator data.
    #[serde(rename = "authenticatorData", default)]
    pub authenticator_data: Option<String>,
    /// Assertion: the signature.
    #[serde(default)]
    pub signature: Option<String>,
    /// Assertion: the user handle (required for passwordless).
    #[serde(rename = "userHandle", default)]
    pub user_handle: Option<String>,
}

/// Why an assertion was refused: a stable word for events and answers, and a message for humans.
pub type Refusal = (&'static str, &'static str);

/// The refusal for a ceremony mfa:core refused.
pub fn refusal_of(error: &WebauthnError) -> Refusal {
    match error {
        WebauthnError::Malformed(_) => ("malformed", "the passkey's answer is malformed"),
        WebauthnError::WrongCeremony => ("wrong_ceremony", "the passkey's answer is for another ceremony"),
        WebauthnError::ChallengeMismatch => ("challenge_mismatch", "the passkey answered another challenge"),
        WebauthnError::OriginNotAllowed(_) => ("origin_not_allowed", "the passkey was used on a page not allowed"),
        WebauthnError::CrossOrigin => ("cross_origin", "the passkey was used in a frame of another site"),
        WebauthnError::RpIdMismatch => ("rp_id_mismatch", "the passkey belongs to another site"),
        WebauthnError::UserNotPresent => ("user_not_present", "the passkey did not confirm the user was present"),
        WebauthnError::UserNotVerified => {
            ("user_not_verified", "the passkey did not verify the user (PIN, biometrics)")
        }
        WebauthnError::BackupFlagsInvalid => ("backup_flags_invalid", "the passkey's backup flags are inconsistent"),
        WebauthnError::UnsupportedAlgorithm(_) => ("unsupported_algorithm", "the passkey's algorithm is not accepted"),
        WebauthnError::UnsupportedAttestation(_) => {
            ("unsupported_attestation", "the passkey's attestation format is not accepted")
        }
        WebauthnError::BadSignature => ("bad_signature", "the passkey's signature does not verify"),
    }
}

/// The refusal of an answer to no live challenge of the kind expected.
const CHALLENGE_INVALID: Refusal = ("challenge_invalid", "the passkey answered no live challenge: start again");
/// The refusal of a credential that is not one of the user's passkeys.
const UNKNOWN_CREDENTIAL: Refusal = ("unknown_credential", "this passkey is not registered here");
/// The refusal of an answer whose `id`, `rawId` and `type` disagree.
const ID_MISMATCH: Refusal = ("credential_id_mismatch", "the credential id is not the one the authenticator made");
/// The refusal of a counter that did not advance.
const COUNTER_REGRESSED: Refusal =
    ("counter_regressed", "this passkey's signature counter went back: it may be a copy");

/// Whether `response` is of type `public-key` and its `id` is its `rawId` (`raw_id`, decoded).
fn names_itself(response: &PasskeyResponse, raw_id: &[u8]) -> bool {
    response.kind == "public-key" && decode(&response.id).is_ok_and(|id| id == raw_id)
}

/// `text` (base64url, padding allowed) as bytes, or the refusal of a malformed answer.
fn decode(text: &str) -> Result<Vec<u8>, Refusal> {
    URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).map_err(|_| ("malformed", "the passkey's answer is malformed"))
}

/// What mfa:core checks ceremonies against.
fn relying_party(settings: &PasskeySettings, require_user_verification: bool) -> RelyingParty {
    RelyingParty { id: settings.rp_id.clone(), origins: settings.origins.clone(), require_user_verification }
}

/// A new challenge for `record`, stored as its SHA-256; the challenge (base64url).
fn new_challenge(ctx: &Ctx, record: &CeremonyRecord) -> Result<String, Error> {
    let challenge = tokens::new_challenge_id();
    let key = tokens::storage_key(&challenge).map_err(|_| Error::Internal("a challenge could not be made"))?;
    stored::insert_challenge(ctx.store()?.db(), &key, record, ctx.now, ctx.now.saturating_add(CEREMONY_SECONDS))?;
    Ok(challenge)
}

/// Takes the challenge `client_data_json` answers: the challenge and what it was for, if it is live.
fn take_challenge(ctx: &Ctx, client_data_json: &[u8]) -> Result<Result<(String, CeremonyRecord), Refusal>, Error> {
    let challenge = match webauthn::read_client_data(client_data_json) {
        Ok(data) => data.challenge,
        Err(error) => return Ok(Err(refusal_of(&error))),
    };
    let Ok(key) = tokens::storage_key(&challenge) else { return Ok(Err(CHALLENGE_INVALID)) };
    Ok(stored::take_challenge(ctx.store()?.db(), &key, ctx.now)?
        .map(|record| (challenge, record))
        .ok_or(CHALLENGE_INVALID))
}

/// A credential descriptor (for `allowCredentials` / `excludeCredentials`).
fn descriptor(passkey: &Passkey) -> Value {
    let transports: Vec<&str> = passkey.transports.split(',').filter(|t| !t.is_empty()).collect();
    json!({"type": "public-key", "id": passkey.credential_id, "transports": transports})
}

/// The options of a registration by the session's user (step-up checked by the caller), who gave `consent` to
/// the passkey text in force: `PublicKeyCredentialCreationOptions` in their JSON form (binary fields base64url).
pub fn registration_options(
    ctx: &Ctx,
    session: &Session,
    name: Option<String>,
    consent: Option<&str>,
) -> Result<Value, Error> {
    let settings = ctx.passkeys()?;
    let name = factors::checked_name(name, FactorKind::Webauthn)?;
    // Backup codes are made when the first factor is enabled: their pepper must be there first.
    ctx.pepper()?;
    consent::require(ctx, session, FactorKind::Webauthn, consent)?;
    let db = ctx.store()?.db();
    let handle = stored::user_handle_or(db, &session.user_id, &tokens::new_challenge_id())?;
    let account = users::account_name(db, &session.user_id)?.unwrap_or_else(|| session.user_id.clone());
    let passkeys = stored::list(db, &session.user_id)?;
    let exclude: Vec<Value> = passkeys.iter().filter(|passkey| passkey.enabled).map(descriptor).collect();
    let record = CeremonyRecord {
        purpose: REGISTER.to_owned(),
        user_id: Some(session.user_id.clone()),
        binding: session.id.clone(),
        name,
    };
    let challenge = new_challenge(ctx, &record)?;
    let algorithms: Vec<Value> = ALGORITHMS.iter().map(|alg| json!({"type": "public-key", "alg": alg})).collect();
    Ok(json!({
        "challenge": challenge,
        "rp": {"id": settings.rp_id, "name": settings.rp_name},
        "user": {"id": handle, "name": account, "displayName": account},
        "pubKeyCredParams": algorithms,
        "timeout": CEREMONY_SECONDS * 1000,
        "excludeCredentials": exclude,
        "authenticatorSelection": {
            "residentKey": "preferred",
            "requireResidentKey": false,
            "userVerification": settings.user_verification(),
        },
        "attestation": "none",
    }))
}

/// Registers the passkey `response` answers the session user's registration challenge with (step-up checked by
/// the caller): the passkey, and the backup codes when it is their first factor.
pub fn register(
    ctx: &Ctx,
    session: &Session,
    response: &PasskeyResponse,
) -> Result<(Passkey, Option<Vec<String>>), Error> {
    let settings = ctx.passkeys()?;
    let (uid, sid) = (Some(session.user_id.as_str()), Some(session.id.as_str()));
    let refused = |(reason, message): Refusal| {
        events::record(ctx, EventKind::MfaPasskeyRegistrationFailed, uid, sid, json!({"reason": reason}));
        Error::PasskeyRegistrationRefused { reason, message }
    };
    let client_data_json = decode(&response.response.client_data_json).map_err(refused)?;
    let attestation = decode(response.response.attestation_object.as_deref().unwrap_or_default()).map_err(refused)?;
    let (challenge, record) = take_challenge(ctx, &client_data_json)?.map_err(refused)?;
    if record.purpose != REGISTER || record.user_id.as_deref() != uid || record.binding != session.id {
        return Err(refused(CHALLENGE_INVALID));
    }
    let rp = relying_party(&settings, settings.require_user_verification);
    let registration = webauthn::verify_registration(&rp, &challenge, &client_data_json, &attestation)
        .map_err(|error| refused(refusal_of(&error)))?;
    let credential_id = URL_SAFE_NO_PAD.encode(&registration.credential_id);
    if !names_itself(response, &registration.credential_id) {
        return Err(refused(ID_MISMATCH));
    }
    let transports = response.response.transports.clone().unwrap_or_default();
    let transports: Vec<String> = transports
        .into_iter()
        .filter(|t| !t.is_empty() && t.len() <= 32 && t.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'))
        .take(8)
        .collect();
    let passkey = Passkey {
        id: tokens::new_challenge_id(),
        user_id: session.user_id.clone(),
        name: record.name,
        credential_id,
        public_key: registration.public_key,
        sign_count: registration.sign_count,
        transports: transports.join(","),
        backup_eligible: registration.backup_eligible,
        backup_state: registration.backup_state,
        aaguid: data_encoding::HEXLOWER.encode(&registration.aaguid),
        enabled: true,
        created_at: ctx.now,
        last_used_at: None,
    };
    match stored::insert(ctx.store()?.db(), &passkey) {
        Ok(()) => {}
        Err(DbError::Conflict) => return Err(Error::PasskeyAlreadyRegistered),
        Err(error) => return Err(error.into()),
    }
    let detail = json!({
        "factor_id": passkey.id,
        "name": passkey.name,
        "aaguid": passkey.aaguid,
        "backup_eligible": passkey.backup_eligible,
        "attestation": registration.attestation_format,
    });
    match factors::enable(ctx, session, &passkey.id, (EventKind::MfaPasskeyEnabled, detail)) {
        Ok(codes) => Ok((passkey, codes)),
        Err(error) => {
            // Not enabled: the passkey goes, so that it can be registered again.
            if let Err(cleanup) =
                factor_records::remove(ctx.store()?.db(), &session.user_id, &passkey.id, FactorKind::Webauthn)
            {
                eprintln!("passkey registration: the unfinished passkey could not be removed: {cleanup}");
            }
            Err(error)
        }
    }
}

/// The options of an assertion by one of `user_id`'s passkeys, as the second factor of what `binding` names (a
/// login challenge's key, a step-up's session): `PublicKeyCredentialRequestOptions` in their JSON form.
pub fn second_factor_options(ctx: &Ctx, user_id: &str, binding: &str) -> Result<Value, Error> {
    let settings = ctx.passkeys()?;
    let passkeys: Vec<Passkey> =
        stored::list(ctx.store()?.db(), user_id)?.into_iter().filter(|passkey| passkey.enabled).collect();
    if passkeys.is_empty() {
        return Err(Error::NoSecondFactor("this user has no passkey"));
    }
    let record = CeremonyRecord {
        purpose: SECOND_FACTOR.to_owned(),
        user_id: Some(user_id.to_owned()),
        binding: binding.to_owned(),
        name: String::new(),
    };
    let challenge = new_challenge(ctx, &record)?;
    let allowed: Vec<Value> = passkeys.iter().map(descriptor).collect();
    Ok(json!({
        "challenge": challenge,
        "rpId": settings.rp_id,
        "timeout": CEREMONY_SECONDS * 1000,
        "allowCredentials": allowed,
        "userVerification": settings.user_verification(),
    }))
}

/// The options of a passwordless sign-in: any discoverable passkey, with user verification. Limited per client
/// address ([`throttles::passkey_sign_in`]; a refusal is a `login_throttled` event).
pub fn passwordless_options(ctx: &Ctx) -> Result<Value, Error> {
    let settings = ctx.passkeys()?;
    let (store, limits) = (ctx.store()?, ctx.throttles()?);
    let ip_key = throttles::address_key(ctx.client().ip);
    if let Err(throttled) = throttles::passkey_sign_in(store.counters(), &limits, &ip_key, ctx.now)? {
        let detail = json!({"limit": throttled.limit, "retry_after": throttled.retry_after});
        events::record(ctx, EventKind::LoginThrottled, None, None, detail);
        return Err(Error::Throttled(throttled));
    }
    let record =
        CeremonyRecord { purpose: PASSWORDLESS.to_owned(), user_id: None, binding: String::new(), name: String::new() };
    let challenge = new_challenge(ctx, &record)?;
    Ok(json!({
        "challenge": challenge,
        "rpId": settings.rp_id,
        "timeout": CEREMONY_SECONDS * 1000,
        "allowCredentials": [],
        "userVerification": "required",
    }))
}

/// A verified assertion: the passkey it was made with.
pub type Asserted = Result<Passkey, Refusal>;

/// Verifies `response` as an assertion for the challenge it names, which must be for `purpose` and, when given,
/// for `user_id` and bound to `binding`; the passkey must be `user_id`'s (any user's for passwordless, whose
/// user handle must then match). Records the use (counter, backup state). A refusal is the caller's to record.
fn assertion(
    ctx: &Ctx,
    response: &PasskeyResponse,
    purpose: &str,
    user_id: Option<&str>,
    binding: &str,
) -> Result<Asserted, Error> {
    let settings = ctx.passkeys()?;
    let parts = &response.response;
    let decoded = (|| {
        Ok::<_, Refusal>((
            decode(&parts.client_data_json)?,
            decode(parts.authenticator_data.as_deref().unwrap_or_default())?,
            decode(parts.signature.as_deref().unwrap_or_default())?,
            decode(&response.raw_id)?,
        ))
    })();
    let (client_data_json, authenticator_data, signature, raw_id) = match decoded {
        Ok(parts) => parts,
        Err(refusal) => return Ok(Err(refusal)),
    };
    if !names_itself(response, &raw_id) {
        return Ok(Err(ID_MISMATCH));
    }
    let (challenge, record) = match take_challenge(ctx, &client_data_json)? {
        Ok(taken) => taken,
        Err(refusal) => return Ok(Err(refusal)),
    };
    if record.purpose != purpose || record.user_id.as_deref() != user_id || record.binding != binding {
        return Ok(Err(CHALLENGE_INVALID));
    }
    let db = ctx.store()?.db();
    let credential_id = URL_SAFE_NO_PAD.encode(&raw_id);
    let Some(passkey) = stored::by_credential(db, &credential_id)? else { return Ok(Err(UNKNOWN_CREDENTIAL)) };
    if user_id.is_some_and(|user| user != passkey.user_id) {
        return Ok(Err(UNKNOWN_CREDENTIAL));
    }
    // The user handle, when the authenticator gives one, must be the passkey's user's; passwordless needs it.
    let given_handle = parts.user_handle.as_deref().map(|h| h.trim_end_matches('=')).filter(|h| !h.is_empty());
    if given_handle.is_some() || user_id.is_none() {
        let handle = stored::user_handle(db, &passkey.user_id)?;
        if handle.is_none() || given_handle != handle.as_deref() {
            return Ok(Err(UNKNOWN_CREDENTIAL));
        }
    }
    let require_user_verification = user_id.is_none() || settings.require_user_verification;
    let rp = relying_party(&settings, require_user_verification);
    let credential =
        StoredCredential { id: raw_id, public_key: passkey.public_key.clone(), sign_count: passkey.sign_count };
    let asserted = match webauthn::verify_assertion(
        &rp,
        &challenge,
        &credential,
        &client_data_json,
        &authenticator_data,
        &signature,
    ) {
        Ok(asserted) => asserted,
        Err(error) => return Ok(Err(refusal_of(&error))),
    };
    if asserted.counter == CounterCheck::Regressed {
        let detail = json!({"factor_id": passkey.id, "stored": passkey.sign_count, "presented": asserted.sign_count});
        events::record(ctx, EventKind::PasskeyCounterRegressed, Some(&passkey.user_id), None, detail);
        if settings.refuse_counter_regression {
            return Ok(Err(COUNTER_REGRESSED));
        }
    }
    if asserted.backup_eligible != passkey.backup_eligible {
        // WebAuthn expects eligibility never to change, but providers that sync a passkey after registering it do
        // change it: an event, and the passkey is kept with what it says now.
        let detail = json!({"factor_id": passkey.id, "backup_eligible": asserted.backup_eligible});
        events::record(ctx, EventKind::PasskeyBackupEligibilityChanged, Some(&passkey.user_id), None, detail);
    }
    let used = stored::Use {
        sign_count: asserted.sign_count.max(passkey.sign_count),
        backup_eligible: asserted.backup_eligible,
        backup_state: asserted.backup_state,
        at: ctx.now,
    };
    if !stored::record_use(db, &passkey.id, &used)? {
        // A higher counter of this passkey was recorded meanwhile (by an answer to another challenge): a copy.
        return Ok(Err(COUNTER_REGRESSED));
    }
    Ok(Ok(passkey))
}

/// Verifies `response` as `user_id`'s second factor for what `binding` names.
pub fn second_factor(ctx: &Ctx, user_id: &str, binding: &str, response: &PasskeyResponse) -> Result<Asserted, Error> {
    assertion(ctx, response, SECOND_FACTOR, Some(user_id), binding)
}

/// Verifies `response` as a passwordless sign-in: the passkey, whoever's it is. A refusal is recorded as a
/// `passkey_sign_in_failed` event (with the user, when the passkey is known). A user whose second-factor checks
/// were disabled (too many wrong codes in a row, until support resets them) is refused (a `second_factor_refused`
/// event). A passing lock is not: it stops guessing, and a passkey cannot be guessed, while anyone who has the
/// password could otherwise keep the user from their passkey by typing wrong codes. A refused answer is not
/// counted against the user either: nothing in it could be guessed, and whoever sends it may not be them.
pub fn passwordless(ctx: &Ctx, response: &PasskeyResponse) -> Result<Passkey, Error> {
    match assertion(ctx, response, PASSWORDLESS, None, "")? {
        Ok(passkey) => {
            if lockout_records::read(ctx.store()?.db(), &passkey.user_id)?.is_some_and(|state| state.disabled) {
                let detail = json!({"method": "passkey", "reason": "disabled"});
                events::record(ctx, EventKind::SecondFactorRefused, Some(&passkey.user_id), None, detail);
                return Err(Error::SecondFactorDisabled);
            }
            Ok(passkey)
        }
        Err((reason, message)) => {
            let owner = decode(&response.raw_id)
                .ok()
                .and_then(|raw| {
                    stored::by_credential(ctx.store().ok()?.db(), &URL_SAFE_NO_PAD.encode(raw)).ok().flatten()
                })
                .map(|passkey| passkey.user_id);
            events::record(ctx, EventKind::PasskeySignInFailed, owner.as_deref(), None, json!({"reason": reason}));
            Err(Error::PasskeyRefused { reason, message })
        }
    }
}
