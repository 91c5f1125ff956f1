//! The app's Postgres sessions: a deadpool pool per distinct address, created on first use. An open guest
//! `connection` holds ONE pooled session for its whole life; when it is dropped, any transaction it left open is
//! rolled back at once (so its locks are released), and before anyone reuses the session the pool resets it
//! ([`RESET_SESSION`]: cursors, settings, `LISTEN`s, advisory locks, temporary tables).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

/// Sessions in one address's pool.
const POOL_SIZE: usize = 64;
/// How long `open` waits for a free pooled session.
const WAIT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long connecting a new session may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Run on a pooled session before it is handed out again: whatever the previous holder left behind is undone.
const RESET_SESSION: &str = "ROLLBACK; CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; UNLISTEN *; \
                             SELECT pg_advisory_unlock_all(); DISCARD TEMP; DISCARD SEQUENCES;";

/// The app's pools, one per distinct address, created on first use.
#[derive(Default)]
pub struct Pools {
    pools: Mutex<HashMap<String, Pool>>,
}

impl std::fmt::Debug for Pools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pools").finish_non_exhaustive()
    }
}

impl Pools {
    /// The pool of `address` (whose parsed form is `config`), created on first use; the error says why it cannot be.
    pub(super) fn pool(&self, address: &str, config: tokio_postgres::Config) -> Result<Pool, String> {
        let mut pools = self.pools.lock().map_err(|_| "the pool registry is unavailable".to_owned())?;
        if let Some(pool) = pools.get(address) {
            return Ok(pool.clone());
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig { recycling_method: RecyclingMethod::Custom(RESET_SESSION.to_owned()) },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(WAIT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|error| error.to_string())?;
        pools.insert(address.to_owned(), pool.clone());
        Ok(pool)
    }
}

/// An open connection: one pooled session, returned to the pool when dropped.
pub struct Connection {
    /// The session.
    pub(super) client: Arc<Object>,
}

impl Drop for Connection {
    /// Ends whatever transaction the guest left open (releasing its locks) right away, before the session goes
    /// back to the pool, instead of at its next checkout; the full reset still runs at checkout.
    fn drop(&mut self) {
        let (client, Ok(runtime)) = (self.client.clone(), tokio::runtime::Handle::try_current()) else { return };
        runtime.spawn(async move {
            if let Err(error) = client.batch_execute("ROLLBACK").await {
                tracing::debug!(%error, "a returned Postgres session could not roll back");
            }
        });
    }
}
