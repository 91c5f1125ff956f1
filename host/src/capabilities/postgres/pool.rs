//! The app's Postgres sessions: a deadpool pool per distinct address, created on first use and sized by the
//! runtime config's budget ([`PostgresBudget`]). A request waits (bounded) for a free session, and a server that
//! refuses a new one for "too many clients" (SQLSTATE 53300, e.g. while another instance holds its share) is asked
//! again until the wait is over, instead of failing the request. An open guest `connection` holds ONE pooled
//! session for its whole life; when it is dropped, any transaction it left open is rolled back at once (so its
//! locks are released), and before anyone reuses the session the pool resets it ([`RESET_SESSION`]: cursors,
//! settings, `LISTEN`s, advisory locks, temporary tables).
//!
//! TLS as Spin's client does it: plain TCP only when the address says `sslmode=disable`; otherwise the server is
//! asked for TLS (`prefer`, the default, goes on in plain TCP only if the server has no TLS at all; `require`
//! never does) and its certificate is verified against the trusted roots ([`TrustedRoots`]), host name included.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use deadpool_postgres::{
    Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod, Runtime, TimeoutType, Timeouts,
};
use tokio_postgres::NoTls;
use tokio_postgres::config::SslMode;
use tokio_postgres::error::SqlState;

use crate::app::runtime_config::PostgresBudget;
use crate::capabilities::tls::TrustedRoots;

/// How long connecting a new session may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The pause before asking a server that had too many clients again.
const FULL_SERVER_PAUSE: Duration = Duration::from_millis(50);
/// Run on a pooled session before it is handed out again: whatever the previous holder left behind is undone.
const RESET_SESSION: &str = "ROLLBACK; CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; UNLISTEN *; \
                             SELECT pg_advisory_unlock_all(); DISCARD TEMP; DISCARD SEQUENCES;";

/// The app's pools, one per distinct address, created on first use.
pub struct Pools {
    budget: PostgresBudget,
    roots: TrustedRoots,
    pools: Mutex<HashMap<String, Pool>>,
}

impl std::fmt::Debug for Pools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pools").field("budget", &self.budget).finish_non_exhaustive()
    }
}

impl Pools {
    /// No pools yet; each will hold up to `budget.pool_size` sessions, and TLS servers are verified against
    /// `roots`.
    pub fn new(budget: PostgresBudget, roots: TrustedRoots) -> Self {
        Self { budget, roots, pools: Mutex::default() }
    }

    /// A session of `address` (whose parsed form is `config`), waiting for one up to the budget's wait timeout;
    /// the error says why there is none.
    pub(super) async fn session(&self, address: &str, config: tokio_postgres::Config) -> Result<Object, String> {
        let pool = self.pool(address, config)?;
        let deadline = Instant::now() + self.budget.wait_timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let timeouts = Timeouts { wait: Some(left), create: Some(CONNECT_TIMEOUT.min(left)), recycle: None };
            match pool.timeout_get(&timeouts).await {
                Ok(session) => return Ok(session),
                Err(PoolError::Backend(error))
                    if error.code() == Some(&SqlState::TOO_MANY_CONNECTIONS) && left > FULL_SERVER_PAUSE =>
                {
                    tracing::debug!("postgres has too many clients; asking again");
                    tokio::time::sleep(FULL_SERVER_PAUSE).await;
                }
                Err(PoolError::Timeout(TimeoutType::Create)) => {
                    return Err("connecting to Postgres timed out".to_owned());
                }
                Err(PoolError::Timeout(_)) => {
                    return Err(format!(
                        "no Postgres session came free within {} ms (pool_size {})",
                        self.budget.wait_timeout.as_millis(),
                        self.budget.pool_size
                    ));
                }
                Err(error) => return Err(format!("{:#}", anyhow::Error::new(error))),
            }
        }
    }

    /// The pool of `address`, created on first use; the error says why it cannot be.
    fn pool(&self, address: &str, config: tokio_postgres::Config) -> Result<Pool, String> {
        let mut pools = self.pools.lock().map_err(|_| "the pool registry is unavailable".to_owned())?;
        if let Some(pool) = pools.get(address) {
            return Ok(pool.clone());
        }
        let manager_config = ManagerConfig { recycling_method: RecyclingMethod::Custom(RESET_SESSION.to_owned()) };
        let manager = if config.get_ssl_mode() == SslMode::Disable {
            Manager::from_config(config, NoTls, manager_config)
        } else {
            let tls = self.roots.client_config().map_err(|error| format!("TLS cannot be set up: {error}"))?;
            Manager::from_config(config, tokio_postgres_rustls::MakeRustlsConnect::new(tls), manager_config)
        };
        let pool = Pool::builder(manager)
            .max_size(self.budget.pool_size)
            .runtime(Runtime::Tokio1)
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
