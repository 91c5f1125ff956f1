//! Connection budgets (README, "Connection budgets"): two app instances on a private Postgres whose
//! `max_connections` the test sets low, each instance holding at most its runtime config's `pool_size` sessions.
//! 120 logins released at once over both instances all succeed: requests wait for a pooled session instead of
//! failing, and a server that has too many clients is asked again instead of answering 503.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use super::TestApp;
use super::app::{Answer, Backend};
use super::race::{Call, all_at_once, count, statuses};

const PASSWORD: &str = "correct horse battery staple";
/// Logins released together.
const LOGINS: usize = 120;
/// The private server's connection slots: fewer than two instances at the old fixed pool (64 each) would open.
const MAX_CONNECTIONS: u32 = 8;

/// A Postgres cluster of the test's own (initdb + pg_ctl on a temporary directory and a free port), trusting local
/// connections, stopped and deleted when dropped.
struct PrivatePostgres {
    port: u16,
    dir: PathBuf,
    bin: PathBuf,
}

/// Where the server's programs are: `PG_BIN`, else the newest `/usr/lib/postgresql/<version>/bin` (Debian).
fn postgres_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("PG_BIN") {
        return bin.into();
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL's server programs (Debian package postgresql) are installed")
        .filter_map(|entry| {
            let entry = entry.ok()?;
            Some((entry.file_name().to_str()?.parse().ok()?, entry.path().join("bin")))
        })
        .collect();
    versions.sort();
    versions.pop().expect("a PostgreSQL version under /usr/lib/postgresql").1
}

/// Runs `program` with `args`, as the `postgres` user when this process is root (initdb refuses root).
fn as_postgres(program: &Path, args: &[&str]) {
    let root =
        Command::new("id").arg("-u").output().is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0");
    let mut command = if root {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    };
    let output = command.args(args).output().unwrap();
    assert!(output.status.success(), "{program:?} {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

impl PrivatePostgres {
    fn start(max_connections: u32) -> Self {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(format!("mfa-postgres-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let _ = Command::new("chown").args(["postgres"]).arg(&dir).output();
        let bin = postgres_bin();
        let data = dir.join("data");
        let data = data.to_str().unwrap();
        as_postgres(&bin.join("initdb"), &["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
        let options = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c max_connections={max_connections} \
             -c superuser_reserved_connections=0 -c fsync=off",
            dir.display()
        );
        let log = dir.join("server.log");
        as_postgres(&bin.join("pg_ctl"), &["-D", data, "-o", &options, "-l", log.to_str().unwrap(), "-w", "start"]);
        Self { port, dir, bin }
    }

    /// Runs `statement` on database `postgres`.
    fn execute(&self, statement: &str) {
        let url = format!("postgres://postgres@127.0.0.1:{}/postgres", self.port);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
            let driver = tokio::spawn(connection);
            client.batch_execute(statement).await.unwrap();
            drop(client);
            let _ = driver.await;
        });
    }

    /// How many times the server refused a client for having too many.
    fn refusals(&self) -> usize {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default().matches("too many clients").count()
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        as_postgres(&self.bin.join("pg_ctl"), &["-D", data.to_str().unwrap(), "-m", "immediate", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn a_hundred_and_twenty_logins_over_two_instances_fit_a_small_postgres() {
    let postgres = PrivatePostgres::start(MAX_CONNECTIONS);
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
    let app = Arc::new(TestApp::migrated_with_runtime_config(Backend::RedisPostgres, &variables, budget));
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
