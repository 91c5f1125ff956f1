//! Recording security events about a request: who (the user and session, when known), what ([`EventKind`]) and
//! details (never a secret), with the client's address and user agent. The actions they describe already
//! happened, so a failure to record does not fail the request: it is logged naming each kind and counted
//! (`event_write_failures_total{kind}`, see `GET /v1/admin/metrics`).

use serde_json::{Value, json};

use super::context::Ctx;
use crate::model::EventKind;
use crate::store::events::{self, Event};

/// One event about the request.
pub struct Happened<'a> {
    /// What happened.
    pub kind: EventKind,
    /// Whose account.
    pub user_id: Option<&'a str>,
    /// Which session.
    pub session_id: Option<&'a str>,
    /// Details (never a secret).
    pub detail: Value,
}

impl<'a> Happened<'a> {
    /// An event about `user_id`'s session `session_id`.
    pub fn new(kind: EventKind, user_id: Option<&'a str>, session_id: Option<&'a str>, detail: Value) -> Self {
        Self { kind, user_id, session_id, detail }
    }
}

/// Records one event about the request.
pub fn record(ctx: &Ctx, kind: EventKind, user_id: Option<&str>, session_id: Option<&str>, detail: Value) {
    record_all(ctx, &[Happened { kind, user_id, session_id, detail }]);
}

/// Records several events about the request at once (one lock, one transaction), in order.
pub fn record_all(ctx: &Ctx, happened: &[Happened<'_>]) {
    let ip = ctx.client().ip_text();
    let location = ctx.client().location.to_text();
    let trail: Vec<Event<'_>> = happened
        .iter()
        .map(|h| Event {
            kind: h.kind,
            user_id: h.user_id,
            session_id: h.session_id,
            detail: h.detail.clone(),
            ip: &ip,
            user_agent: &ctx.client().user_agent,
            location: &location,
        })
        .collect();
    append(ctx, &trail);
}

/// Appends `trail` at the request's time; a failure is logged and counted.
pub fn append(ctx: &Ctx, trail: &[Event<'_>]) {
    let kinds: Vec<&str> = trail.iter().map(|event| event.kind.as_str()).collect();
    let store = match ctx.store() {
        Ok(store) => store,
        Err(error) => {
            eprintln!("security events {kinds:?} not recorded: {error}");
            return;
        }
    };
    if let Err(error) = events::record(store.db(), trail, ctx.now) {
        eprintln!("security events {kinds:?} not recorded: {error}");
        let series: Vec<String> = trail.iter().map(|event| write_failure_series(event.kind)).collect();
        if let Err(error) = store.counters().count(&series) {
            eprintln!("security events {kinds:?}: the failure could not be counted either: {error}");
        }
    }
}

/// The metric series of a failed event write of `kind`.
pub fn write_failure_series(kind: EventKind) -> String {
    format!("event_write_failures_total{{kind=\"{kind}\"}}")
}

/// Records a `session_expired` event for each session the stores found expired and ended so far.
pub fn record_expired(ctx: &Ctx) {
    let Ok(store) = ctx.store() else { return };
    let expired = store.sessions().take_expired();
    let happened: Vec<Happened<'_>> = expired
        .iter()
        .map(|ended| {
            let detail = json!({"reason": ended.reason.as_str()});
            Happened::new(EventKind::SessionExpired, Some(&ended.user_id), Some(&ended.session_id), detail)
        })
        .collect();
    if !happened.is_empty() {
        record_all(ctx, &happened);
    }
}

/// The user's events before event id `before`, newest first, at most `limit`.
pub fn of_user(ctx: &Ctx, user_id: &str, before: i64, limit: i64) -> Result<Vec<Value>, super::error::Error> {
    Ok(events::for_user(ctx.store()?.db(), user_id, before, limit)?)
}

/// Every user's events after event id `after`, oldest first, at most `limit` ([`events::feed`]).
pub fn feed(ctx: &Ctx, after: i64, limit: i64) -> Result<Vec<Value>, super::error::Error> {
    Ok(events::feed(ctx.store()?.db(), after, limit)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_writes_are_counted_per_kind() {
        assert_eq!(write_failure_series(EventKind::LoginFailed), "event_write_failures_total{kind=\"login_failed\"}");
    }
}
