//! The user's own data (GDPR articles 15, 17 and 20): the export of everything the service holds about them, and
//! erasure. Both need a step-up (checked by the caller). What the export holds and what erasure deletes and keeps
//! is [`crate::store::privacy`]: live sessions end first (should the database then fail, the user is signed out
//! and nothing is half erased), then the rows go in one transaction, then one `account_erased` event without
//! address or user agent says when it happened.

use serde_json::{Value, json};

use super::context::Ctx;
use super::error::Error;
use super::events;
use crate::model::EventKind;
use crate::store::events::Event;
use crate::store::privacy;
use crate::store::sessions::Session;

/// Everything the service holds about the session's user, as one JSON document.
pub fn export(ctx: &Ctx, session: &Session) -> Result<Value, Error> {
    let document = privacy::export(ctx.store()?.db(), &session.user_id, ctx.now)?.ok_or(Error::AccountNotFound)?;
    events::record(ctx, EventKind::DataExported, Some(&session.user_id), Some(&session.id), json!({}));
    Ok(document)
}

/// Erases the session's user; every session ends, this one included.
pub fn erase(ctx: &Ctx, session: &Session) -> Result<(), Error> {
    let store = ctx.store()?;
    store.sessions().forget_live(&session.user_id)?;
    privacy::erase(store.db(), &session.user_id)?;
    let erased = Event {
        kind: EventKind::AccountErased,
        user_id: Some(&session.user_id),
        session_id: Some(&session.id),
        detail: json!({}),
        ip: "",
        user_agent: "",
        location: "",
    };
    events::append(ctx, &[erased]);
    // Again, now that the rows are gone: a login that raced the erasure may have admitted a session meanwhile (it
    // undoes it itself when it finds its record gone, but this one is certain).
    if let Err(error) = store.sessions().forget_live(&session.user_id) {
        eprintln!("erase: live sessions: {error}");
    }
    Ok(())
}
