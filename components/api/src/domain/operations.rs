//! What an operator asks of the service: whether it is ready (policies usable, stores reachable, schema current),
//! applying the schema migrations, and the app's own counters (with how many security events of each kind were
//! written).

use super::context::Ctx;
use super::error::Error;
use crate::store::error::StoreError;
use crate::store::{events, migrate};

/// Refuses unless every policy variable is usable, naming the variable and the rule it breaks.
pub fn check_policies(ctx: &Ctx) -> Result<(), Error> {
    ctx.settings.check_policies().map_err(|error| {
        eprintln!("{error}");
        Error::PolicyInvalid(error)
    })
}

/// A service ready to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    /// The schema version.
    pub schema_version: i64,
    /// What it serves without (`redis`: sessions and counters come from the database while Redis is unreachable).
    pub degraded: Vec<&'static str>,
    /// When the Redis outage in progress began, if one is.
    pub redis_outage_since: Option<i64>,
}

/// Whether the service is ready: policies usable, the database reachable and its schema current. Redis being
/// unreachable does not stop it (it is reported as degraded).
pub fn ready(ctx: &Ctx) -> Result<Readiness, Error> {
    check_policies(ctx)?;
    let store = ctx.store().map_err(|error| {
        eprintln!("readyz: {error}");
        Error::NotReady("the database cannot be reached".to_owned())
    })?;
    let mut degraded = Vec::new();
    match store.sessions().ping() {
        Ok(()) => {}
        Err(error @ StoreError::Redis(_)) => {
            if let Some(outage) = store.outage() {
                outage.failed(&error);
            }
            degraded.push("redis");
        }
        Err(error) => {
            eprintln!("readyz: {error}");
            return Err(Error::NotReady("the database cannot be reached".to_owned()));
        }
    }
    let schema_version = match migrate::current(store.db()) {
        Ok(version) if version == migrate::latest() => version,
        Ok(version) => {
            return Err(Error::NotReady(format!(
                "the schema is at version {version}, {} is needed: POST /v1/admin/migrate",
                migrate::latest()
            )));
        }
        Err(error) => {
            eprintln!("readyz: {error}");
            return Err(Error::NotReady("the database cannot be queried".to_owned()));
        }
    };
    let redis_outage_since = store.outage().and_then(|outage| outage.since().ok().flatten());
    Ok(Readiness { schema_version, degraded, redis_outage_since })
}

/// Applies the pending migrations (a policy that would break every login stops the start here, not at the first
/// user): the versions applied now and the schema version.
pub fn migrate(ctx: &Ctx) -> Result<(Vec<i64>, i64), Error> {
    check_policies(ctx)?;
    let failed = |error: &dyn std::fmt::Display| {
        eprintln!("migrate: {error}");
        Error::MigrationFailed
    };
    let db = ctx.store().map_err(|error| failed(&error))?.db();
    let applied = migrate::migrate(db, ctx.now).and_then(|applied| Ok((applied, migrate::current(db)?)));
    applied.map_err(|error| failed(&error))
}

/// The app's own counters (name with labels, value), sorted by name.
pub fn metrics(ctx: &Ctx) -> Result<Vec<(String, i64)>, Error> {
    let store = ctx.store()?;
    let mut metrics = store.counters().metrics()?;
    let written = events::counts(store.db())?;
    metrics
        .extend(written.into_iter().map(|(kind, total)| (format!("security_events_total{{kind=\"{kind}\"}}"), total)));
    metrics.sort();
    Ok(metrics)
}
