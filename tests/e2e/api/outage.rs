//! A Redis outage on the Redis + Postgres backend (README, "Redis outage"): a private redis-server, started by the
//! test with an append-only file (so that it comes back WITH the sessions it held, as a persisted Redis would), is
//! killed with SIGKILL while logins, session checks, introspections, refreshes and logouts run from several threads
//! on two app instances, and restarted. Every request keeps being answered from Postgres meanwhile; afterwards every
//! token is active exactly when its Postgres record is open: nothing ended during the outage comes back through
//! Redis, and sessions created during it keep working. Throttle counters counted during the outage survive it. A
//! Redis that stops answering (SIGSTOP) is left after mfa-host's Redis timeout, the same way.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use sha2::{Digest, Sha256};

use super::TestApp;
use super::app::{Answer, Backend, redis_command};

const PASSWORD: &str = "correct horse battery staple";

/// A redis-server of the test's own, on a free port, persisting every write to its append-only file.
struct PrivateRedis {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl PrivateRedis {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(format!("mfa-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut redis = Self { port, dir, child: None };
        redis.run();
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again, on the same port and files) and waits until it answers.
    fn run(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", "yes", "--appendfsync", "always", "--dir"])
            .arg(&self.dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server runs");
        self.child = Some(child);
        let started = Instant::now();
        while !std::net::TcpStream::connect(("127.0.0.1", self.port))
            .is_ok_and(|_| redis_command(&self.url(), &["PING"]).contains("PONG"))
        {
            assert!(started.elapsed() < Duration::from_secs(10), "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends `signal` (`STOP`, `CONT`) to the server.
    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("a running server").id().to_string();
        assert!(Command::new("kill").args([&format!("-{signal}"), &pid]).status().unwrap().success());
    }

    /// SIGKILL: no shutdown, no last save.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn token_of(answer: &Answer) -> String {
    answer.json()["token"].as_str().unwrap_or_else(|| panic!("no token in {answer:?}")).to_owned()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn session(app: &TestApp, token: &str) -> Answer {
    app.request("GET", "/v1/session", &[("authorization", &bearer(token))], "")
}

fn introspect(app: &TestApp, token: &str) -> bool {
    let answer = app.post_with_key("/v1/introspect", &json!({"token": token}).to_string());
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.json()["active"] == json!(true)
}

/// Whether the Postgres record of `token` is open: the truth every answer must agree with.
fn open_in_postgres(app: &TestApp, token: &str) -> bool {
    let key: String = Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    let rows = app.rows(&format!("SELECT id FROM user_sessions WHERE token_hash = '{key}' AND ended_at IS NULL"));
    !rows.is_empty()
}

/// What one worker thread did: tokens it holds (live or not), and answers that were not what the step expects.
#[derive(Default)]
struct Work {
    tokens: Vec<String>,
    unexpected: Vec<String>,
}

/// Logs in, checks, introspects, refreshes and sometimes logs out, `rounds` times, on `app`.
fn work(app: &TestApp, email: &str, rounds: usize) -> Work {
    let mut done = Work::default();
    for round in 0..rounds {
        let login = app.login(email, PASSWORD, &[]);
        if login.status != 201 {
            done.unexpected.push(format!("login {}", login.status));
            continue;
        }
        let token = token_of(&login);
        let checked = session(app, &token);
        if checked.status != 200 {
            done.unexpected.push(format!("session {}", checked.status));
        }
        let refreshed = app.request("POST", "/v1/session/refresh", &[("authorization", &bearer(&token))], "");
        let token = match refreshed.status {
            200 => {
                done.tokens.push(token);
                token_of(&refreshed)
            }
            status => {
                done.unexpected.push(format!("refresh {status}"));
                token
            }
        };
        if round % 3 == 0 {
            let out = app.request("DELETE", "/v1/session", &[("authorization", &bearer(&token))], "");
            if out.status != 200 {
                done.unexpected.push(format!("logout {}", out.status));
            }
        }
        done.tokens.push(token);
        std::thread::sleep(Duration::from_millis(30));
    }
    done
}

#[test]
fn a_redis_outage_keeps_the_app_serving_and_brings_nothing_back() {
    let mut redis = PrivateRedis::start();
    let port = redis.port.to_string();
    let limits =
        [("redis_port", port.as_str()), ("password_limit_account_ip", "3/900/60/900"), ("session_max_per_user", "100")];
    let app = Arc::new(TestApp::migrated(Backend::RedisPostgres, &limits));
    let sibling = Arc::new(app.sibling(&[]));
    for n in 0..4 {
        assert_eq!(app.register(&format!("worker{n}@example.com"), PASSWORD).status, 201);
    }
    assert_eq!(app.register("kept@example.com", PASSWORD).status, 201);
    assert_eq!(app.register("guessed@example.com", PASSWORD).status, 201);
    // Before the outage: one session kept, one to end and one to rotate during it.
    let kept = token_of(&app.login("kept@example.com", PASSWORD, &[]));
    let ended = token_of(&app.login("kept@example.com", PASSWORD, &[]));
    let rotated = token_of(&app.login("kept@example.com", PASSWORD, &[]));
    assert!(introspect(&app, &kept));

    // Four workers on two instances; Redis is killed while they run.
    let workers: Vec<_> = (0..4)
        .map(|n| {
            let app = if n % 2 == 0 { app.clone() } else { sibling.clone() };
            std::thread::spawn(move || work(&app, &format!("worker{n}@example.com"), 12))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    redis.kill();

    // During the outage, from Postgres.
    assert_eq!(session(&sibling, &kept).status, 200, "an existing session keeps working");
    let out = app.request("DELETE", "/v1/session", &[("authorization", &bearer(&ended))], "");
    assert_eq!(out.status, 200, "{out:?}");
    let renewed = sibling.request("POST", "/v1/session/refresh", &[("authorization", &bearer(&rotated))], "");
    assert_eq!(renewed.status, 200, "{renewed:?}");
    let renewed = token_of(&renewed);
    let during = token_of(&sibling.login("kept@example.com", PASSWORD, &[]));
    assert!(introspect(&app, &during) && !introspect(&app, &ended) && !introspect(&app, &rotated));
    let ready = app.get("/readyz");
    assert_eq!(ready.status, 200, "{ready:?}");
    assert_eq!(ready.json()["degraded"], json!(["redis"]), "{ready:?}");
    assert!(ready.json()["redis_outage_since"].is_i64(), "{ready:?}");
    // The password limit holds during the outage: 3 free failures, then refused.
    let guesses: Vec<u16> =
        (0..4).map(|_| app.login("guessed@example.com", "wrong password 1234", &[]).status).collect();
    assert_eq!(guesses, [401, 401, 401, 429]);
    std::thread::sleep(Duration::from_millis(2_500));

    // Redis returns with what it held before it was killed (its append-only file).
    redis.run();
    let results: Vec<Work> = workers.into_iter().map(|worker| worker.join().unwrap()).collect();
    let unexpected: Vec<&String> = results.iter().flat_map(|done| &done.unexpected).collect();
    assert!(unexpected.is_empty(), "every request was answered as usual: {unexpected:?}");
    std::thread::sleep(Duration::from_millis(2_500));

    // Nothing ended during the outage is back; what was created during it works; the counters were kept.
    assert_eq!(session(&app, &kept).status, 200);
    assert_eq!(session(&app, &ended).status, 401, "a session ended during the outage stays ended");
    assert_eq!(session(&sibling, &rotated).status, 401, "a token rotated away during the outage stays dead");
    assert_eq!(session(&sibling, &renewed).status, 200);
    assert_eq!(session(&app, &during).status, 200, "a session created during the outage keeps working");
    assert_eq!(app.login("guessed@example.com", "wrong password 1234", &[]).status, 429, "the count survived");
    let listed = app.request("GET", "/v1/sessions", &[("authorization", &bearer(&kept))], "");
    let ids: Vec<String> = listed.json()["sessions"].as_array().unwrap().iter().map(|s| s["id"].to_string()).collect();
    assert_eq!(ids.len(), 3, "kept, renewed and during: {ids:?}");
    // Every token any worker held: active exactly when its Postgres record is open.
    let tokens: Vec<&String> = results.iter().flat_map(|done| &done.tokens).collect();
    assert!(tokens.len() > 20, "the workers did work: {}", tokens.len());
    for token in tokens.iter().chain([&&kept, &&ended, &&rotated, &&renewed, &&during]) {
        let truth = open_in_postgres(&app, token);
        assert_eq!(introspect(&app, token), truth, "introspection agrees with Postgres");
        assert_eq!(session(&sibling, token).status == 200, truth, "the session check agrees with Postgres");
    }
    let ready = app.get("/readyz").json();
    assert_eq!(ready["degraded"], json!([]), "{ready}");
    let metrics = app.request("GET", "/v1/admin/metrics", &[("authorization", &format!("Bearer {}", app.api_key))], "");
    assert!(metrics.body.contains("mfa_redis_fallbacks_total"), "{metrics:?}");
}

/// `mfa_event_write_failures_total{kind="login_failed"}` as `GET /v1/admin/metrics` answers it (absent: `None`).
fn login_write_failures(app: &TestApp) -> Option<u64> {
    let metrics = app.request("GET", "/v1/admin/metrics", &[("authorization", &bearer(&app.api_key))], "");
    assert_eq!(metrics.status, 200, "{metrics:?}");
    let series = "mfa_event_write_failures_total{kind=\"login_failed\"} ";
    metrics.body.lines().find_map(|line| line.strip_prefix(series)).map(|value| value.parse().unwrap())
}

#[test]
fn event_write_failures_stay_counted_through_a_redis_outage() {
    let mut redis = PrivateRedis::start();
    let port = redis.port.to_string();
    let app = TestApp::migrated(Backend::RedisPostgres, &[("redis_port", port.as_str())]);
    assert_eq!(app.register("audited@example.com", PASSWORD).status, 201);
    let fail_login = || assert_eq!(app.login("audited@example.com", "not the password 1234", &[]).status, 401);
    // Failed logins cannot be written to the trail; at first the database refuses to count that too.
    app.execute(
        "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$ \
         LANGUAGE plpgsql; \
         CREATE TRIGGER refuse_event BEFORE INSERT ON security_events FOR EACH ROW \
         WHEN (NEW.kind = 'login_failed') EXECUTE FUNCTION refuse(); \
         CREATE TRIGGER refuse_count BEFORE INSERT OR UPDATE ON app_metrics FOR EACH ROW EXECUTE FUNCTION refuse();",
    );
    fail_login();
    assert_eq!(login_write_failures(&app), Some(1), "counted in Redis when the database cannot");
    app.execute("DROP TRIGGER refuse_count ON app_metrics");
    assert_eq!(login_write_failures(&app), Some(1), "a read moves it into the database");
    let metrics_key = format!("{}metrics", app.redis_prefix().unwrap());
    assert_eq!(redis_command(&redis.url(), &["EXISTS", &metrics_key]), ":0\r\n", "nothing left in Redis");

    // Redis dies: the series neither drops (Prometheus would take a reset) nor stops counting.
    redis.kill();
    assert_eq!(login_write_failures(&app), Some(1), "a Redis outage hides nothing");
    fail_login();
    assert_eq!(login_write_failures(&app), Some(2));
    redis.run();
    std::thread::sleep(Duration::from_millis(2_500));
    fail_login();
    assert_eq!(login_write_failures(&app), Some(3));
}

#[test]
fn a_redis_that_stops_answering_is_left_after_the_timeout() {
    let mut redis = PrivateRedis::start();
    let port = redis.port.to_string();
    let app = TestApp::migrated(Backend::RedisPostgres, &[("redis_port", port.as_str())]);
    assert_eq!(app.register("frozen@example.com", PASSWORD).status, 201);
    let token = token_of(&app.login("frozen@example.com", PASSWORD, &[]));
    // Frozen (SIGSTOP): connections are accepted and never answered. Without mfa-host's Redis timeout each request
    // would wait for the request timeout (30 s) and answer 504; with it, Redis is left and Postgres answers.
    redis.signal("STOP");
    assert_eq!(session(&app, &token).status, 200);
    let fresh = app.login("frozen@example.com", PASSWORD, &[]);
    assert_eq!(fresh.status, 201, "{fresh:?}");
    let ready = app.get("/readyz");
    assert_eq!((ready.status, ready.json()["degraded"].clone()), (200, json!(["redis"])), "{ready:?}");
    redis.signal("CONT");
    std::thread::sleep(Duration::from_millis(2_500));
    assert_eq!(session(&app, &token_of(&fresh)).status, 200, "the session made meanwhile is back in Redis");
    assert_eq!(app.get("/readyz").json()["degraded"], json!([]));
    redis.kill();
}

#[test]
fn sessions_kept_in_an_earlier_layout_are_rebuilt_from_their_records() {
    // Upgrading from the first layout (a hash per session under `s:`, indexed under `u:<id>:s`): the new version
    // finds none of its own keys nor its `populated2` marker, and puts every open session back from Postgres;
    // an ended session stays ended, whatever the old layout still holds.
    let redis = PrivateRedis::start();
    let port = redis.port.to_string();
    let app = TestApp::migrated(Backend::RedisPostgres, &[("redis_port", port.as_str())]);
    assert_eq!(app.register("upgraded@example.com", PASSWORD).status, 201);
    let kept = token_of(&app.login("upgraded@example.com", PASSWORD, &[]));
    let ended = token_of(&app.login("upgraded@example.com", PASSWORD, &[]));
    assert_eq!(app.request("DELETE", "/v1/session", &[("authorization", &bearer(&ended))], "").status, 200);
    let url = redis.url();
    let prefix = app.redis_prefix().unwrap();
    let ended_key: String = Sha256::digest(ended.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    for key in redis_command(&url, &["KEYS", &format!("{prefix}*")]).lines().filter(|l| l.starts_with(&prefix)) {
        redis_command(&url, &["DEL", key]);
    }
    let old = format!("{prefix}s:{ended_key}");
    redis_command(&url, &["HSET", &old, "id", "x", "user_id", "y", "aal", "1", "method", "password"]);
    assert_eq!(session(&app, &ended).status, 401);
    assert_eq!(session(&app, &kept).status, 200, "the open session is rebuilt from its record");
    assert!(introspect(&app, &kept) && !introspect(&app, &ended));
    let listed = session(&app, &kept);
    assert_eq!(listed.json()["session"]["aal"], json!(1), "{listed:?}");
    let sessions = app.request("GET", "/v1/sessions", &[("authorization", &bearer(&kept))], "");
    assert_eq!(sessions.json()["sessions"].as_array().map(Vec::len), Some(1), "{sessions:?}");
    let keys = redis_command(&url, &["KEYS", &format!("{prefix}s2:*")]);
    assert_eq!(keys.lines().filter(|line| line.starts_with(&prefix)).count(), 1, "{keys}");
}
