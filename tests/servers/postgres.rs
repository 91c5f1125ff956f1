//! A Postgres cluster of the test's own: initdb + pg_ctl on a temporary directory and a free port, trusting every
//! local client, its connection slots and TLS as the test asks. The test reaches it through its Unix socket, so a
//! TLS-only server needs no TLS in the test itself.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::ca::ServerCertificate;

/// What the server is started with.
pub struct Settings<'a> {
    /// `max_connections` (no slots are reserved for superusers).
    pub max_connections: u32,
    /// TLS with this certificate, if any.
    pub tls: Option<&'a ServerCertificate>,
    /// Whether TCP clients must use TLS (`hostssl` lines only in `pg_hba.conf`).
    pub tls_only: bool,
}

impl Default for Settings<'_> {
    fn default() -> Self {
        Self { max_connections: 100, tls: None, tls_only: false }
    }
}

/// A running cluster, stopped and deleted when dropped.
pub struct PrivatePostgres {
    /// Its port on 127.0.0.1.
    pub port: u16,
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

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// Runs `program` with `args`, as the `postgres` user when this process is root (initdb refuses root).
fn as_postgres(program: &Path, args: &[&str]) {
    let mut command = if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    };
    let output = command.args(args).output().unwrap();
    assert!(output.status.success(), "{program:?} {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

/// Writes `text` to `path`, readable by the server's user only (as Postgres demands of its key).
fn write_private(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    let _ = Command::new("chmod").arg("600").arg(path).output();
    if is_root() {
        let _ = Command::new("chown").arg("postgres").arg(path).output();
    }
}

impl PrivatePostgres {
    /// Starts a cluster with `settings` and waits until it accepts connections.
    pub fn start(settings: Settings<'_>) -> Self {
        let port = super::free_port();
        let dir = super::scratch("postgres", port);
        let _ = Command::new("chown").args(["postgres"]).arg(&dir).output();
        let bin = postgres_bin();
        let data = dir.join("data");
        let data_text = data.to_str().unwrap();
        as_postgres(
            &bin.join("initdb"),
            &["-D", data_text, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"],
        );
        let mut options = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c max_connections={} \
             -c superuser_reserved_connections=0 -c fsync=off",
            dir.display(),
            settings.max_connections
        );
        if let Some(tls) = settings.tls {
            write_private(&data.join("server.crt"), &tls.certificate);
            write_private(&data.join("server.key"), &tls.key);
            options.push_str(" -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key");
        }
        if settings.tls_only {
            let rules = "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n";
            write_private(&data.join("pg_hba.conf"), rules);
        }
        let log = dir.join("server.log");
        as_postgres(
            &bin.join("pg_ctl"),
            &["-D", data_text, "-o", &options, "-l", log.to_str().unwrap(), "-w", "start"],
        );
        Self { port, dir, bin }
    }

    /// Runs `statements` on database `postgres` (through the Unix socket).
    pub fn execute(&self, statements: &str) {
        Self::run(self.socket_config(), |client| async move { client.batch_execute(statements).await.unwrap() });
    }

    /// The first column of the rows `query` answers on database `database`, as text (cast in the query).
    pub fn column(&self, database: &str, query: &str) -> Vec<Option<String>> {
        let mut config = self.socket_config();
        config.dbname(database);
        Self::run(config, |client| async move {
            client.query(query, &[]).await.unwrap().iter().map(|row| row.get::<_, Option<String>>(0)).collect()
        })
    }

    /// How many times the server refused a client for having too many.
    pub fn refusals(&self) -> usize {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default().matches("too many clients").count()
    }

    fn socket_config(&self) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config.host_path(&self.dir).port(self.port).user("postgres").dbname("postgres");
        config
    }

    fn run<T, F: std::future::Future<Output = T>>(
        config: tokio_postgres::Config,
        work: impl FnOnce(std::rc::Rc<tokio_postgres::Client>) -> F,
    ) -> T {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
            let driver = tokio::spawn(connection);
            let client = std::rc::Rc::new(client);
            let answer = work(client.clone()).await;
            drop(client);
            let _ = driver.await;
            answer
        })
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        as_postgres(&self.bin.join("pg_ctl"), &["-D", data.to_str().unwrap(), "-m", "immediate", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
