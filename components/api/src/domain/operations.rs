//! What an operator asks of the service: whether it is ready (policies usable, stores reachable, schema current),
//! applying the schema migrations, and the app's own counters.

use super::context::Ctx;
use super::error::Error;
use crate::store::error::StoreError;
use crate::store::migrate;

/// Refuses unless every policy variable is usable, naming the variable and the rule it breaks.
pub fn check_policies(ctx: &Ctx) -> Result<(), Error> {
    ctx.settings.check_policies().map_err(|error| {
        eprintln!("{error}");
        Error::PolicyInvalid(error)
    })
}

/// The schema version, when the service is ready.
pub fn ready(ctx: &Ctx) -> Result<i64, Error> {
    check_policies(ctx)?;
    let reached = ctx.store().and_then(|store| Ok(store.sessions().ping().map(|()| store)?));
    let store = reached.map_err(|error| {
        eprintln!("readyz: {error}");
        let what = match error {
            Error::Storage(StoreError::Redis(_)) => "the session store cannot be reached",
            _ => "the database cannot be reached",
        };
        Error::NotReady(what.to_owned())
    })?;
    match migrate::current(store.db()) {
        Ok(version) if version == migrate::latest() => Ok(version),
        Ok(version) => Err(Error::NotReady(format!(
            "the schema is at version {version}, {} is needed: POST /v1/admin/migrate",
            migrate::latest()
        ))),
        Err(error) => {
            eprintln!("readyz: {error}");
            Err(Error::NotReady("the database cannot be queried".to_owned()))
        }
    }
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
    Ok(ctx.store()?.counters().metrics()?)
}
