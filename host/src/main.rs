//! The `mfa-host` command line: `mfa-host build` runs the components' build commands; `mfa-host up` serves the
//! app (after the optional startup request) until SIGINT or SIGTERM, then lets in-flight requests finish and exits 0.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use mfa_host::app::build::build_all;
use mfa_host::app::manifest::Manifest;
use mfa_host::app::runtime_config::RuntimeConfig;
use mfa_host::serve::startup::StartupRequest;
use mfa_host::serve::{App, Limits};

/// Runs this project's spin.toml as Spin does.
#[derive(Parser)]
#[command(name = "mfa-host", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run each component's `[component.X.build]` commands, as `spin build` does.
    Build {
        /// The manifest.
        #[arg(long, short = 'f', default_value = "spin.toml")]
        from: PathBuf,
    },
    /// Serve the app over HTTP.
    Up(Box<Up>),
}

/// The options of `mfa-host up`.
#[derive(Args)]
struct Up {
    /// The manifest.
    #[arg(long, short = 'f', default_value = "spin.toml")]
    from: PathBuf,
    /// The address to listen on (port 0 picks a free one; the address is printed).
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// A runtime config file (`[sqlite_database.<label>]` tables).
    #[arg(long)]
    runtime_config_file: Option<PathBuf>,
    /// Instances running at once; requests beyond wait, then get 503.
    #[arg(long, default_value_t = 64)]
    max_instances: u32,
    /// Milliseconds a request may wait for a free instance before it gets 503.
    #[arg(long, default_value_t = 5000)]
    queue_timeout_ms: u64,
    /// Linear memory one instance may use, in MiB.
    #[arg(long, default_value_t = 128)]
    memory_mib: usize,
    /// Seconds a guest may run for one request before it is stopped (504).
    #[arg(long, default_value_t = 30)]
    timeout_secs: u64,
    /// Serve Prometheus metrics at `/metrics` on this separate address (off unless given).
    #[arg(long)]
    admin_listen: Option<SocketAddr>,
    /// Where compiled components are cached [default: $XDG_CACHE_HOME/mfa-host, else ~/.cache/mfa-host].
    #[arg(long, conflicts_with = "disable_cache")]
    cache_dir: Option<PathBuf>,
    /// Compile every component at each start instead of using the cache.
    #[arg(long)]
    disable_cache: bool,
    /// Seconds a client may take to send a request's head before its connection is closed.
    #[arg(long, default_value_t = 10)]
    header_timeout_secs: u64,
    /// Seconds a client may pause while sending a request's body before it gets 408.
    #[arg(long, default_value_t = 10)]
    body_idle_timeout_secs: u64,
    /// The largest request body taken, in bytes (a larger one gets 413, at once when declared).
    #[arg(long, default_value_t = 1 << 20)]
    max_body_bytes: u64,
    /// Connections open at once; one more is answered 503 and closed.
    #[arg(long, default_value_t = 1024)]
    max_connections: usize,
    /// Milliseconds connecting to Redis, or one Redis command, may take before it fails (an app can then fall back).
    #[arg(long, default_value_t = 1000)]
    redis_timeout_ms: u64,
    /// Requests one instance may serve before it is dropped (Spin's flag; 1, the default, instantiates afresh for
    /// every request, as Spin 4 serves WASIp2 components; more keeps an instance that answered cleanly for the
    /// next request of its component, as Spin 4 does for WASIp3 ones: see the README).
    #[arg(long, default_value_t = 1)]
    max_instance_reuse_count: u32,
    /// Milliseconds an instance kept for reuse waits for a next request before it is dropped.
    #[arg(long, default_value_t = 1000)]
    idle_instance_timeout_ms: u64,
    /// A request to send to the app once it serves, before the banner (e.g. `POST /v1/admin/migrate`); an answer
    /// other than 2xx stops startup with the app's answer.
    #[arg(long, num_args = 2, value_names = ["METHOD", "PATH"])]
    startup_request: Option<Vec<String>>,
    /// Send the startup request with `authorization: Bearer <value>`, the value of this application variable.
    #[arg(long, value_name = "NAME", requires = "startup_request")]
    startup_bearer_variable: Option<String>,
}

impl Up {
    fn limits(&self) -> Limits {
        Limits {
            max_instances: self.max_instances,
            queue_timeout: Duration::from_millis(self.queue_timeout_ms),
            memory_bytes: self.memory_mib.saturating_mul(1 << 20),
            request_timeout: Duration::from_secs(self.timeout_secs),
            cache_dir: if self.disable_cache { None } else { self.cache_dir.clone().or_else(default_cache_dir) },
            header_read_timeout: Duration::from_secs(self.header_timeout_secs),
            body_idle_timeout: Duration::from_secs(self.body_idle_timeout_secs),
            max_body_bytes: self.max_body_bytes,
            max_connections: self.max_connections,
            redis_timeout: Duration::from_millis(self.redis_timeout_ms),
            max_instance_reuse_count: self.max_instance_reuse_count,
            idle_instance_timeout: Duration::from_millis(self.idle_instance_timeout_ms),
        }
    }

    /// The startup request as given (its bearer token is added once the app's variables are resolved).
    fn startup_request(&self) -> anyhow::Result<Option<StartupRequest>> {
        match self.startup_request.as_deref() {
            Some([method, path]) => StartupRequest::new(method, path).context("--startup-request").map(Some),
            _ => Ok(None),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Build { from } => Manifest::load(&from)
            .map_err(|error| error.to_string())
            .and_then(|manifest| build_all(&manifest, &mut std::io::stdout()).map(drop).map_err(|e| e.to_string())),
        Command::Up(options) => up(&options).map_err(|error| format!("{error:#}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("Error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn up(options: &Up) -> anyhow::Result<()> {
    let startup = options.startup_request()?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let manifest = Manifest::load(&options.from)?;
    let runtime_config = match &options.runtime_config_file {
        Some(path) => RuntimeConfig::load(path, &std::env::current_dir()?)?,
        None => RuntimeConfig::default(),
    };
    let app = Arc::new(App::load(&manifest, &runtime_config, |name| std::env::var(name).ok(), options.limits())?);
    let startup = match (startup, &options.startup_bearer_variable) {
        (Some(request), Some(name)) => {
            let token = app.variable(name).with_context(|| {
                format!("--startup-bearer-variable: the app declares no variable {name:?} in [variables]")
            })?;
            Some(request.with_bearer(token))
        }
        (startup, _) => startup,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(options.listen).await?;
        let address = listener.local_addr()?;
        let admin = match options.admin_listen {
            Some(admin) => Some(tokio::net::TcpListener::bind(admin).await?),
            None => None,
        };
        let mut banner = format!("Serving http://{address}\n");
        for trigger in &manifest.http_triggers {
            if let Some(route) = &trigger.route {
                banner.push_str(&format!("  {}: http://{address}{}\n", trigger.component, route.raw()));
            }
        }
        if let Some(admin) = &admin {
            banner.push_str(&format!("Metrics at http://{}/metrics\n", admin.local_addr()?));
        }
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shutdown = async move {
            tokio::select! {
                () = shutdown_signal() => {}
                _ = stopped => {}
            }
        };
        let server = tokio::spawn(app.clone().serve(listener, admin, shutdown));
        if let Some(startup) = startup {
            // Answered before the banner, so whoever waits for the banner finds the app ready.
            if let Err(error) = startup.send(address).await {
                let _ = stop.send(());
                let _ = server.await;
                return Err(error);
            }
        }
        // Best-effort: a closed stdout must not stop the server.
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(banner.as_bytes()).and_then(|()| stdout.flush());
        drop(stdout);
        server.await?
    })
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => {
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

/// `$XDG_CACHE_HOME/mfa-host`, else `$HOME/.cache/mfa-host`; none when neither is set.
fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME").filter(|dir| !dir.is_empty()).map(PathBuf::from).or_else(|| {
        std::env::var_os("HOME").filter(|dir| !dir.is_empty()).map(|home| PathBuf::from(home).join(".cache"))
    })?;
    Some(base.join("mfa-host"))
}
