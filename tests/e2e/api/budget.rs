//! Connection budgets (README, "Connection budgets"): two app instances on a private Postgres whose
//! `max_connections` the test sets low, each instance holding at most its runtime config's `pool_size` sessions.
//! 120 logins released at once over both instances all succeed: requests wait for a pooled session instead of
//! failing, and a server that has too many clients is asked again instead of answering 503.

use std::sync::Arc;

use super::TestApp;
use super::app::{Answer, Backend};
use super::race::{Call, all_at_once, count, statuses};
use crate::servers::postgres::{PrivatePostgres, Settings};

const PASSWORD: &str = "correct horse battery staple";
/// Logins released together.
const LOGINS: usize = 120;
/// The private server's connection slots: fewer than two instances at the old fixed pool (64 each) would open.
const MAX_CONNECTIONS: u32 = 8;

#[test]
fn a_hundred_and_twenty_logins_over_two_instances_fit_a_small_postgres() {
    let postgres = PrivatePostgres::start(Settings { max_connections: MAX_CONNECTIONS, ..Settings::default() });
    postgres.execute("CREATE DATABASE mfa");
    let port = postgres.port.to_string();
    let variables = [
        ("postgres_host", "127.0.0.1"),
        ("postgres_port", port.as_str()),
        ("postgres_user", "postgres"),
        ("postgres_password", ""),
        ("postgres_database", "mfa"),
        // One account logging in 120 times at once: every attempt is reserved under the account and the address
        // before the password is checked, so those limits are raised out of the way.
        ("password_limit_account", "1000/60"),
        ("password_limit_ip", "1000/60"),
        ("password_limit_account_ip", "1000/60/1/1"),
    ];
    // Two instances at 4 sessions each fill the server's 8 slots: any other client (this test's, a migration)
    // finds it full, and the instances must wait for their own sessions.
    let budget = "[outbound_postgres]\npool_size = 4\nwait_timeout_ms = 60000\n";
    let app = Arc::new(TestApp::migrated_with_host(Backend::RedisPostgres, &variables, budget, &[]));
    let sibling = Arc::new(app.sibling(&[]));
    assert_eq!(app.register("budget@example.com", PASSWORD).status, 201);

    let calls: Vec<Call> = (0..LOGINS)
        .map(|n| {
            let app = if n % 2 == 0 { app.clone() } else { sibling.clone() };
            Box::new(move || app.login("budget@example.com", PASSWORD, &[])) as Call
        })
        .collect();
    let answers: Vec<Answer> = all_at_once(calls);
    assert_eq!(count(&answers, 201), LOGINS, "{:?}", statuses(&answers));
    // The server was never asked for more than it has: the pools kept to their budget.
    assert_eq!(postgres.refusals(), 0, "the server refused clients for having too many");
}
