//! `TestApp::spawn(backend)`: a fresh app on port 0 (as zero-to-production's `spawn_app`), and a small HTTP client.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use mfa_e2e::paths::{target_dir, workspace_dir};
use mfa_host::app::manifest::{DependencySource, Manifest};
use mfa_host::app::runtime_config::RuntimeConfig;
use mfa_host::serve::{App, Limits};
use sha2::{Digest, Sha256};

/// Which storage the app uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `storage = "sqlite"`.
    Sqlite,
    /// `storage = "redis-postgres"`.
    RedisPostgres,
}

/// Both backends, for tests that run on each.
pub const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::RedisPostgres];

/// A running app; stopped when dropped (its storage goes with the last app that shares it).
pub struct TestApp {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The service API key it was given.
    pub api_key: String,
    /// Declared before the storage: the server stops before the storage goes.
    _served: Served,
    storage: Arc<Storage>,
    /// The `SPIN_VARIABLE_*` environment it was served with.
    env: HashMap<String, String>,
}

/// What an app stores in, shared by the app and its siblings: a scratch directory (the SQLite file) and, on
/// Redis + Postgres, a database of its own and a Redis key prefix. Cleaned up when the last app using it is gone.
struct Storage {
    database: Option<Database>,
    scratch: PathBuf,
    /// Runtime config the apps are served with besides their SQLite database.
    runtime_config: String,
    /// Host environment the apps are served with besides their `SPIN_VARIABLE_*`s (e.g. `SSL_CERT_FILE`).
    host_env: Vec<(String, String)>,
}

impl Storage {
    /// The prefix of the app's Redis keys (Redis + Postgres backend only).
    fn redis_prefix(&self) -> Option<String> {
        self.database.as_ref().map(|database| format!("mfa:{}:", database.name))
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        if let Some(prefix) = self.redis_prefix() {
            let sweep = "for _, key in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', key) end return 0";
            redis_command(&redis_url(), &["EVAL", sweep, "0", &format!("{prefix}*")]);
        }
        drop(self.database.take());
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

/// A reply: status, headers (names lower case), body.
#[derive(Debug)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: Vec<(String, String)>,
    /// The body, as text (lossy).
    pub body: String,
    /// The body's bytes.
    pub bytes: Vec<u8>,
}

impl Answer {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    /// The error code of an error answer.
    pub fn error_code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap_or_else(|| panic!("no error code in {:?}", self.body)).to_owned()
    }

    /// The last value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// A request and its answer, as [`recorded`] keeps them.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The method.
    pub method: String,
    /// The path, query included.
    pub path: String,
    /// The request body.
    pub request: String,
    /// The answer's status.
    pub status: u16,
    /// The answer's body.
    pub answer: String,
}

thread_local! {
    /// The exchanges of this thread while [`recorded`] runs.
    static RECORDING: std::cell::RefCell<Option<Vec<Exchange>>> = const { std::cell::RefCell::new(None) };
}

/// Runs `work`, keeping every request this thread sends to any app meanwhile with its answer.
pub fn recorded<T>(work: impl FnOnce() -> T) -> (T, Vec<Exchange>) {
    RECORDING.with(|recording| *recording.borrow_mut() = Some(Vec::new()));
    let result = work();
    (result, RECORDING.with(|recording| recording.borrow_mut().take().unwrap_or_default()))
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}_{}_{nanos}", std::process::id())
}

/// A Postgres database of its own, dropped with its connections at the end.
pub struct Database {
    admin: String,
    name: String,
}

fn admin_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn run_admin(admin: &str, statement: &str) {
    batch(admin.parse().unwrap(), statement);
}

/// Runs `statements` on the database `config` names.
fn batch(config: tokio_postgres::Config, statements: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
        let driver = tokio::spawn(connection);
        client.batch_execute(statements).await.unwrap();
        drop(client);
        let _ = driver.await;
    });
}

impl Database {
    fn config(&self) -> tokio_postgres::Config {
        let mut config: tokio_postgres::Config = self.admin.parse().unwrap();
        config.dbname(&self.name);
        config
    }

    /// Runs `sql` on this database; every column is read as text (cast in the query).
    pub fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        let config = self.config();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
            let driver = tokio::spawn(connection);
            let rows = client.query(sql, &[]).await.unwrap();
            drop(client);
            let _ = driver.await;
            rows.iter().map(|row| (0..row.len()).map(|i| row.get::<_, Option<String>>(i)).collect()).collect()
        })
    }

    /// Runs statements on this database.
    pub fn execute(&self, sql: &str) {
        batch(self.config(), sql);
    }

    /// Its address, as a tool outside the suite takes it (the admin address with this database's name).
    pub fn url(&self) -> String {
        let (address, query) = self.admin.split_once('?').map_or((self.admin.as_str(), None), |(a, q)| (a, Some(q)));
        let base = address.rsplit_once('/').map_or(address, |(base, _)| base);
        query.map_or_else(|| format!("{base}/{}", self.name), |query| format!("{base}/{}?{query}", self.name))
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        run_admin(&self.admin, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

/// `spin.toml` with its `target/...` paths moved to the target directory this build uses.
fn manifest() -> Manifest {
    let mut manifest = Manifest::load(&workspace_dir().join("spin.toml")).unwrap();
    let relocate = |path: &mut PathBuf| {
        if let Ok(rest) = path.strip_prefix("target") {
            *path = target_dir().join(rest);
        }
    };
    for component in manifest.components.values_mut() {
        relocate(&mut component.source);
        for dependency in component.dependencies.values_mut() {
            if let DependencySource::Path(path) = &mut dependency.source {
                relocate(path);
            }
        }
    }
    manifest
}

impl TestApp {
    /// Serves a fresh app on `backend`, with `variables` (names without the `SPIN_VARIABLE_` prefix) on top.
    pub fn spawn_with(backend: Backend, variables: &[(&str, &str)]) -> Self {
        let scratch = std::env::temp_dir().join(unique("mfa-app"));
        std::fs::create_dir_all(&scratch).unwrap();
        let mut env: HashMap<String, String> = HashMap::new();
        env.insert("SPIN_VARIABLE_API_KEY".into(), unique("key"));
        // A key for secrets at rest: 32 bytes, derived from the unique name (any 32 bytes serve a test).
        let key: Vec<u8> = Sha256::digest(scratch.to_string_lossy().as_bytes()).to_vec();
        env.insert(
            "SPIN_VARIABLE_ENCRYPTION_KEYS".into(),
            format!("test:{}", base64::engine::general_purpose::STANDARD.encode(&key)),
        );
        env.insert("SPIN_VARIABLE_CODE_PEPPER".into(), format!("pepper-{}", unique("p")));
        let mut database = None;
        match backend {
            Backend::Sqlite => {
                env.insert("SPIN_VARIABLE_STORAGE".into(), "sqlite".into());
            }
            Backend::RedisPostgres => {
                let admin = admin_url();
                let name = unique("mfa_app_test");
                run_admin(&admin, &format!("CREATE DATABASE {name}"));
                let config: tokio_postgres::Config = admin.parse().unwrap();
                let host = match config.get_hosts().first() {
                    Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
                    _ => "127.0.0.1".to_owned(),
                };
                env.insert("SPIN_VARIABLE_STORAGE".into(), "redis-postgres".into());
                env.insert("SPIN_VARIABLE_POSTGRES_HOST".into(), host);
                env.insert(
                    "SPIN_VARIABLE_POSTGRES_PORT".into(),
                    config.get_ports().first().copied().unwrap_or(5432).to_string(),
                );
                env.insert("SPIN_VARIABLE_POSTGRES_USER".into(), config.get_user().unwrap_or("postgres").to_owned());
                if let Some(password) = config.get_password() {
                    env.insert("SPIN_VARIABLE_POSTGRES_PASSWORD".into(), String::from_utf8_lossy(password).into());
                }
                env.insert("SPIN_VARIABLE_POSTGRES_DATABASE".into(), name.clone());
                // The harness reaches this server in plain TCP (the machine's Postgres offers TLS only with a
                // self-signed certificate, which a verifying client refuses).
                env.insert("SPIN_VARIABLE_POSTGRES_SSLMODE".into(), "disable".into());
                let redis = redis_url();
                let authority = redis.trim_start_matches("redis://").split('/').next().unwrap_or("127.0.0.1:6379");
                let (credentials, host_port) = authority.rsplit_once('@').unwrap_or(("", authority));
                let (host, port) = host_port.rsplit_once(':').unwrap_or((host_port, "6379"));
                env.insert("SPIN_VARIABLE_REDIS_HOST".into(), host.trim_matches(['[', ']']).to_owned());
                env.insert("SPIN_VARIABLE_REDIS_PORT".into(), port.to_owned());
                if let Some((_, password)) = credentials.split_once(':') {
                    env.insert("SPIN_VARIABLE_REDIS_PASSWORD".into(), password.to_owned());
                }
                env.insert("SPIN_VARIABLE_REDIS_KEY_PREFIX".into(), format!("mfa:{name}:"));
                database = Some(Database { admin, name });
            }
        }
        let storage = Storage { database, scratch, runtime_config: String::new(), host_env: Vec::new() };
        Self::serve(Arc::new(storage), env, variables)
    }

    /// Serves a fresh app on `backend` with `variables`, `runtime_config` (TOML, besides the SQLite database) and
    /// `host_env` (host environment variables such as `SSL_CERT_FILE`), its schema migrated; its siblings are
    /// served the same way.
    pub fn migrated_with_host(
        backend: Backend,
        variables: &[(&str, &str)],
        runtime_config: &str,
        host_env: &[(&str, &str)],
    ) -> Self {
        Self::spawn_with_host(backend, variables, runtime_config, host_env).with_schema()
    }

    /// As [`TestApp::migrated_with_host`], without migrating (for apps whose stores cannot be reached).
    pub fn spawn_with_host(
        backend: Backend,
        variables: &[(&str, &str)],
        runtime_config: &str,
        host_env: &[(&str, &str)],
    ) -> Self {
        let mut app = Self::spawn_with(backend, variables);
        let storage = Arc::get_mut(&mut app.storage).expect("a fresh app's storage is its own");
        storage.runtime_config = runtime_config.to_owned();
        storage.host_env = host_env.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect();
        app.sibling(&[])
    }

    /// Another instance of this app (as a second Spin instance would be) on the same storage, with `variables`
    /// changed: the guarantees that hold across instances are tested against it.
    pub fn sibling(&self, variables: &[(&str, &str)]) -> Self {
        Self::serve(self.storage.clone(), self.env.clone(), variables)
    }

    /// The value of variable `name` (without the `SPIN_VARIABLE_` prefix) this app was served with.
    pub fn variable(&self, name: &str) -> Option<&str> {
        self.env.get(&format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase())).map(String::as_str)
    }

    fn serve(storage: Arc<Storage>, mut env: HashMap<String, String>, variables: &[(&str, &str)]) -> Self {
        for (name, value) in variables {
            env.insert(format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase()), (*value).to_owned());
        }
        env.extend(storage.host_env.iter().cloned());
        let scratch = &storage.scratch;
        let runtime_config = RuntimeConfig::parse(
            &format!(
                "[sqlite_database.default]\ntype = \"spin\"\npath = \"{}\"\n{}",
                scratch.join("app.db").display(),
                storage.runtime_config
            ),
            scratch,
        )
        .unwrap();
        let app = App::load(&manifest(), &runtime_config, |name| env.get(name).cloned(), served_limits()).unwrap();
        let served = Served::start(app);
        let api_key = env.get("SPIN_VARIABLE_API_KEY").cloned().unwrap_or_default();
        Self { port: served.port, api_key, _served: served, storage, env }
    }

    /// Serves a fresh app on `backend` with its schema migrated.
    pub fn spawn(backend: Backend) -> Self {
        Self::migrated(backend, &[])
    }

    /// Serves a fresh app on `backend` with `variables`, its schema migrated.
    pub fn migrated(backend: Backend, variables: &[(&str, &str)]) -> Self {
        Self::spawn_with(backend, variables).with_schema()
    }

    /// This app with its schema migrated (the migration must succeed).
    fn with_schema(self) -> Self {
        let answer = self.post_with_key("/v1/admin/migrate", "");
        assert_eq!(answer.status, 200, "{answer:?}");
        self
    }

    /// POST of a JSON body, with `headers` besides its content type.
    pub fn post_json(&self, path: &str, body: &str, headers: &[(&str, &str)]) -> Answer {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        self.request("POST", path, &all, body)
    }

    /// `POST /v1/register`.
    pub fn register(&self, email: &str, password: &str) -> Answer {
        self.post_json("/v1/register", &credentials(email, password), &[])
    }

    /// `POST /v1/login` with `headers`.
    pub fn login(&self, email: &str, password: &str, headers: &[(&str, &str)]) -> Answer {
        self.post_json("/v1/login", &credentials(email, password), headers)
    }

    /// Sends a request; returns the answer.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut text = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.port,
            body.len()
        );
        for (name, value) in headers {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        text.push_str("\r\n");
        stream.write_all(text.as_bytes()).unwrap();
        stream.write_all(body.as_bytes()).unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).unwrap();
        let split = response.windows(4).position(|w| w == b"\r\n\r\n").expect("a response head");
        let head = String::from_utf8(response[..split].to_vec()).unwrap();
        let raw = &response[split + 4..];
        let mut lines = head.lines();
        let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let chunked = headers.iter().any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
        let bytes = if chunked { dechunk(raw) } else { raw.to_vec() };
        let answer = Answer { status, headers, body: String::from_utf8_lossy(&bytes).into_owned(), bytes };
        RECORDING.with(|recording| {
            if let Some(exchanges) = recording.borrow_mut().as_mut() {
                exchanges.push(Exchange {
                    method: method.to_owned(),
                    path: path.to_owned(),
                    request: body.to_owned(),
                    status: answer.status,
                    answer: answer.body.clone(),
                });
            }
        });
        answer
    }

    /// Moves the session of `token` into the past: created `created_ago` and last seen `seen_ago` seconds earlier
    /// than stored (lifetimes cannot be configured short enough to wait them out).
    pub fn age_session(&self, token: &str, created_ago: i64, seen_ago: i64) {
        let key: String = Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        match self.storage.database {
            None => {
                let db = rusqlite::Connection::open(self.storage.scratch.join("app.db")).unwrap();
                let changed = db
                    .execute(
                        "UPDATE user_sessions SET created_at = created_at - ?1, auth_time = auth_time - ?1, \
                         last_seen_at = last_seen_at - ?2 WHERE token_hash = ?3",
                        rusqlite::params![created_ago, seen_ago, key],
                    )
                    .unwrap();
                assert_eq!(changed, 1, "no such session");
            }
            Some(_) => {
                let url = redis_url();
                let session = format!("{}s2:{key}", self.redis_prefix().unwrap());
                // The packed session (the app's store/sessions/packed.rs): last seen, created, auth time first.
                let reply = redis_command(&url, &["GET", &session]);
                let packed = reply.split_once("\r\n").map(|(_, value)| value.trim_end()).expect("no such session");
                let mut fields: Vec<serde_json::Value> = serde_json::from_str(packed).unwrap();
                for (index, by) in [(0, seen_ago), (1, created_ago), (2, created_ago)] {
                    fields[index] = (fields[index].as_i64().unwrap() - by).into();
                }
                let aged = serde_json::to_string(&fields).unwrap();
                assert!(redis_command(&url, &["SET", &session, &aged, "XX", "KEEPTTL"]).starts_with("+OK"));
            }
        }
    }

    /// The prefix of the app's Redis keys (Redis + Postgres backend only): each app has its own, so that
    /// parallel tests never share a session index or a throttle counter.
    pub fn redis_prefix(&self) -> Option<String> {
        self.storage.redis_prefix()
    }

    /// Every Redis key of this app with its value (strings, hashes, sorted sets) as text, to look for what must not
    /// be stored; empty on SQLite.
    pub fn redis_entries(&self) -> Vec<String> {
        let Some(prefix) = self.redis_prefix() else { return Vec::new() };
        let url = redis_url();
        let keys = redis_command(&url, &["KEYS", &format!("{prefix}*")]);
        keys.lines()
            .filter(|line| line.starts_with(&prefix))
            .map(|key| {
                let value = match redis_command(&url, &["TYPE", key]).trim() {
                    "+string" => redis_command(&url, &["GET", key]),
                    "+hash" => redis_command(&url, &["HGETALL", key]),
                    _ => redis_command(&url, &["ZRANGE", key, "0", "-1"]),
                };
                format!("{key} {value}")
            })
            .collect()
    }

    /// Every row of `table` as text (bytes as lower-case hex), to look for what must not be stored.
    pub fn table_text(&self, table: &str) -> Vec<String> {
        match &self.storage.database {
            Some(database) => {
                database.rows(&format!("SELECT t::text FROM {table} t")).into_iter().flatten().flatten().collect()
            }
            None => {
                let db = rusqlite::Connection::open(self.storage.scratch.join("app.db")).unwrap();
                let mut statement = db.prepare(&format!("SELECT * FROM {table}")).unwrap();
                let columns = statement.column_count();
                let rows = statement
                    .query_map([], |row| {
                        let mut text = String::new();
                        for i in 0..columns {
                            match row.get_ref(i)? {
                                rusqlite::types::ValueRef::Blob(bytes) => {
                                    text.extend(bytes.iter().map(|b| format!("{b:02x}")));
                                }
                                rusqlite::types::ValueRef::Text(t) => text.push_str(&String::from_utf8_lossy(t)),
                                rusqlite::types::ValueRef::Integer(n) => text.push_str(&n.to_string()),
                                rusqlite::types::ValueRef::Real(r) => text.push_str(&r.to_string()),
                                rusqlite::types::ValueRef::Null => {}
                            }
                            text.push('|');
                        }
                        Ok(text)
                    })
                    .unwrap();
                rows.map(Result::unwrap).collect()
            }
        }
    }

    /// Runs `sql` on the app's database, on either backend; every column must be text (cast in the query, as
    /// `CAST(at AS TEXT)`, which both dialects read).
    pub fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        match &self.storage.database {
            Some(database) => database.rows(sql),
            None => {
                let db = rusqlite::Connection::open(self.storage.scratch.join("app.db")).unwrap();
                let mut statement = db.prepare(sql).unwrap();
                let columns = statement.column_count();
                let rows = statement
                    .query_map([], |row| (0..columns).map(|i| row.get::<_, Option<String>>(i)).collect())
                    .unwrap();
                rows.map(Result::unwrap).collect()
            }
        }
    }

    /// Runs statements that change the app's database (`sql` in the backend's own dialect), on either backend.
    pub fn execute(&self, sql: &str) {
        match &self.storage.database {
            Some(database) => database.execute(sql),
            None => {
                let db = rusqlite::Connection::open(self.storage.scratch.join("app.db")).unwrap();
                db.execute_batch(sql).unwrap();
            }
        }
    }

    /// The app's SQLite file (SQLite backend only).
    pub fn sqlite_file(&self) -> Option<std::path::PathBuf> {
        self.database().is_none().then(|| self.storage.scratch.join("app.db"))
    }

    /// The app's own Postgres database (Redis + Postgres backend only).
    pub fn database(&self) -> Option<&Database> {
        self.storage.database.as_ref()
    }

    /// GET.
    pub fn get(&self, path: &str) -> Answer {
        self.request("GET", path, &[], "")
    }

    /// POST with the service API key.
    pub fn post_with_key(&self, path: &str, body: &str) -> Answer {
        self.post_with_key_as(path, "application/json", body)
    }

    /// A request with the service API key, its body (if any) as JSON.
    pub fn with_key(&self, method: &str, path: &str, body: &str) -> Answer {
        let authorization = format!("Bearer {}", self.api_key);
        self.request(method, path, &[("authorization", &authorization), ("content-type", "application/json")], body)
    }

    /// As [`TestApp::post_with_key`], with a body of `content_type`.
    pub fn post_with_key_as(&self, path: &str, content_type: &str, body: &str) -> Answer {
        let authorization = format!("Bearer {}", self.api_key);
        self.request("POST", path, &[("authorization", &authorization), ("content-type", content_type)], body)
    }
}

/// The Redis the apps use.
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// One command through a plain RESP exchange; the raw reply as text.
pub fn redis_command(url: &str, command: &[&str]) -> String {
    let authority = url.trim_start_matches("redis://").split('/').next().unwrap();
    let (credentials, host_port) = authority.rsplit_once('@').unwrap_or(("", authority));
    let mut stream = TcpStream::connect(host_port).unwrap();
    let mut request = String::new();
    if let Some((_, password)) = credentials.split_once(':').filter(|(_, p)| !p.is_empty()) {
        request.push_str(&format!("*2\r\n$4\r\nAUTH\r\n${}\r\n{password}\r\n", password.len()));
    }
    request.push_str(&format!("*{}\r\n", command.len()));
    for part in command {
        request.push_str(&format!("${}\r\n{part}\r\n", part.len()));
    }
    stream.write_all(request.as_bytes()).unwrap();
    stream.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let mut reply = Vec::new();
    let mut buffer = [0u8; 65536];
    while let Ok(n) = stream.read(&mut buffer) {
        if n == 0 {
            break;
        }
        reply.extend_from_slice(&buffer[..n]);
    }
    let reply = String::from_utf8_lossy(&reply).into_owned();
    // Drop AUTH's "+OK" line.
    if credentials.contains(':') {
        reply.split_once("\r\n").map(|(_, rest)| rest.to_owned()).unwrap_or(reply)
    } else {
        reply
    }
}

/// `{"email", "password"}` as JSON.
pub fn credentials(email: &str, password: &str) -> String {
    serde_json::json!({"email": email, "password": password}).to_string()
}

impl Answer {
    /// The value of cookie `name` set by this answer (`Set-Cookie`), and the whole header.
    pub fn set_cookie(&self, name: &str) -> Option<(String, String)> {
        self.headers.iter().filter(|(n, _)| n == "set-cookie").find_map(|(_, value)| {
            let (pair, _) = value.split_once(';').unwrap_or((value, ""));
            let (cookie, content) = pair.split_once('=')?;
            (cookie == name).then(|| (content.to_owned(), value.clone()))
        })
    }
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = body.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(std::str::from_utf8(&body[..line_end]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        let rest = &body[line_end + 2..];
        out.extend_from_slice(&rest[..size]);
        body = &rest[size + 2..];
    }
    out
}

/// The limits apps are served with here, as scripts/serve serves them: instances reused up to Spin's WASIp3
/// default (128 requests each), compiled components cached in the target directory.
pub fn served_limits() -> Limits {
    Limits {
        cache_dir: Some(target_dir().join("mfa-host-test-cache")),
        max_instance_reuse_count: 128,
        ..Limits::default()
    }
}

/// An app served by mfa-host in this process, on a free port of 127.0.0.1 (two tokio workers); stopped when
/// dropped.
pub struct Served {
    /// Its port.
    pub port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<std::thread::JoinHandle<()>>,
}

impl Served {
    /// Serves `app`.
    pub fn start(app: App) -> Self {
        let app = Arc::new(app);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let server = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                port_tx.send(listener.local_addr().unwrap().port()).unwrap();
                app.serve(listener, None, async move {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
            });
        });
        let port = port_rx.recv().unwrap();
        Self { port, stop: Some(stop), server: Some(server) }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.join();
        }
    }
}
