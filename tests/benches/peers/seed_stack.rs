//! The seed's own Python stack (`../shared/peers/seed-stack`: FastAPI + uvicorn + redis-py), started beside the
//! bench as the comparator its figures are quoted against, measured in the same run on the same machine.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// A running seed stack; stopped when dropped.
pub struct SeedStack {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// A session token it holds (one of the 10,000 it seeded).
    pub token: String,
    pid: u32,
}

/// Where the peer lives: `../shared/peers/seed-stack` beside the workspace.
fn peer_dir(workspace: &Path) -> PathBuf {
    workspace.join("../shared/peers/seed-stack")
}

impl SeedStack {
    /// Starts it (its `run.sh`: a venv on first use, 10,000 sessions seeded into Redis database 5 of `redis`, which
    /// it flushes) on a free port; `None` when the peer is not beside the workspace.
    pub fn start(workspace: &Path, redis: &str) -> Result<Option<Self>> {
        let dir = peer_dir(workspace);
        if !dir.join("run.sh").exists() {
            return Ok(None);
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let work = std::env::temp_dir().join("mfa-bench-seed-stack");
        let venv = dirs_cache().join("seed-stack/.venv");
        // Database 5 only: run.sh flushes the database it is given.
        let url = database_url(redis, 5);
        // run.sh leaves uvicorn running with its output: to a file, as a pipe would never be closed.
        std::fs::create_dir_all(&work)?;
        let log = work.join("run.log");
        let status = Command::new("bash")
            .arg(dir.join("run.sh"))
            .env("PORT", port.to_string())
            .env("WORK", &work)
            .env("VENV", &venv)
            .env("REDIS_URL", &url)
            .stdout(std::fs::File::create(&log)?)
            .stderr(std::fs::File::create(work.join("run.err"))?)
            .status()
            .context("running the seed stack's run.sh")?;
        let printed = std::fs::read_to_string(&log)?;
        if !status.success() {
            bail!("the seed stack did not start: {printed}{}", std::fs::read_to_string(work.join("run.err"))?);
        }
        let pid = printed
            .split_whitespace()
            .skip_while(|word| *word != "pid")
            .nth(1)
            .and_then(|pid| pid.parse().ok())
            .with_context(|| format!("no pid in: {printed}"))?;
        let tokens = std::fs::read_to_string(work.join("tokens.txt"))?;
        let token = tokens.lines().next().context("no seeded token")?.to_owned();
        let stack = Self { port, token, pid };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if started.elapsed() > Duration::from_secs(30) {
                bail!("the seed stack did not listen on {port} within 30 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(Some(stack))
    }
}

/// `redis` (`redis://[credentials@]host:port[/db]`) with database `db`.
fn database_url(redis: &str, db: u8) -> String {
    let (scheme, rest) = redis.split_once("://").unwrap_or(("redis", redis));
    let authority = rest.split('/').next().unwrap_or(rest);
    format!("{scheme}://{authority}/{db}")
}

/// The user's cache directory (`XDG_CACHE_HOME`, or `~/.cache`), where run.sh keeps its venv by default.
fn dirs_cache() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
}

impl Drop for SeedStack {
    fn drop(&mut self) {
        // uvicorn's supervisor stops its workers on SIGTERM.
        let _ = Command::new("kill").arg(self.pid.to_string()).status();
    }
}
