//! `mfa-host up`: loads the app once, then serves HTTP with hyper, one fresh store and instance per request, as
//! wasmtime's `serve` and Spin's HTTP trigger do.
//!
//! Loading: variables are resolved (a required one without a value stops startup, naming it), each routed
//! component is composed with its dependencies if it has any, then compiled once (or taken from the on-disk
//! cache) into a `ProxyPre` whose linker holds exactly what this host implements (WASI 0.2, `wasi:http`, Spin's
//! variables, SQLite, Redis and Postgres), so any other import is a startup error naming it.
//!
//! Serving: `/.well-known/spin/health` answers `OK`; other paths go through Spin's router (no match: 404); the
//! request reaches the guest with Spin's `spin-*` headers appended after the client's own. A trap answers 500 and
//! a guest over its time budget 504, and the host keeps serving. Every answer the host makes itself carries a JSON
//! error body and the security headers ([`crate::answers`]).
//!
//! A slow or stalled client costs a socket, never an instance: the request head must arrive within the header
//! timeout; the body is read in full BEFORE an instance slot is taken, each part within the body idle timeout
//! (else 408), and a body over the cap is refused with 413 (at once when its `Content-Length` says so). Open
//! connections are capped: one over the cap is answered 503 and closed. Instances are capped too: a request waits
//! for a free slot, then gets 503. SIGINT or SIGTERM stops accepting and lets in-flight requests finish (for at
//! most the request timeout plus [`DRAIN_GRACE`]).
//! Every answered request is counted in the [`crate::metrics`].

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_LENGTH, HOST, HeaderName, HeaderValue};
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use wasmtime::component::{Component, Linker};
use wasmtime::{
    Cache, CacheConfig, Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, StoreLimitsBuilder,
    Trap, UpdateDeadline,
};
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

use crate::allowed_hosts::AllowedHosts;
use crate::answers::Refusal;
use crate::manifest::Manifest;
use crate::metrics::Metrics;
use crate::outbound_http::OutboundHttp;
use crate::postgres_host::Pools;
use crate::routes::{Router, WELL_KNOWN_PREFIX, header_name_for_param};
use crate::runtime_config::RuntimeConfig;
use crate::sqlite_host::{Databases, default_location};
use crate::state::{ComponentConfig, RequestState};
use crate::variables::AppVariables;

/// How long a drain may outlast the request timeout (a slow client still reading a response).
pub const DRAIN_GRACE: Duration = Duration::from_secs(5);

/// How long past its time budget a guest stuck in a host call gets before its request is answered 504.
const HOST_CALL_GRACE: Duration = Duration::from_secs(1);

/// How often the epoch advances: a running guest yields to other requests at each tick, and its time budget is checked.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Limits for serving.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Instances running at once; further requests wait up to `queue_timeout`, then get 503.
    pub max_instances: u32,
    /// How long a request may wait for an instance slot.
    pub queue_timeout: Duration,
    /// Linear memory one instance may grow to, in bytes.
    pub memory_bytes: usize,
    /// How long a guest may run for one request before it is stopped (504).
    pub request_timeout: Duration,
    /// Where compiled components are cached, keyed by a hash of their bytes and the engine's settings;
    /// `None` compiles every start.
    pub cache_dir: Option<PathBuf>,
    /// How long a client may take to send a request's head; then the connection is closed.
    pub header_read_timeout: Duration,
    /// How long a client may pause while sending a request's body; then it gets 408.
    pub body_idle_timeout: Duration,
    /// The largest request body taken, in bytes; a larger one gets 413.
    pub max_body_bytes: u64,
    /// Connections open at once; one more is answered 503 and closed.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_instances: 64,
            queue_timeout: Duration::from_secs(5),
            memory_bytes: 128 << 20,
            request_timeout: Duration::from_secs(30),
            cache_dir: None,
            header_read_timeout: Duration::from_secs(10),
            body_idle_timeout: Duration::from_secs(10),
            max_body_bytes: 1 << 20,
            max_connections: 1024,
        }
    }
}

/// The loaded app: its router and one pre-instantiated component per routed component.
pub struct App {
    engine: Engine,
    router: Router<String>,
    components: BTreeMap<String, Routed>,
    limits: Limits,
    slots: Semaphore,
    metrics: Arc<Metrics>,
    migration_key: Option<String>,
}

/// The path of this project's migration endpoint, which `mfa-host up` calls once at start.
pub const MIGRATE_PATH: &str = "/v1/admin/migrate";

struct Routed {
    pre: ProxyPre<RequestState>,
    config: Arc<ComponentConfig>,
}

/// The engine: Cranelift, async calls, epoch interruption, and the pooling allocator sized by `limits`.
pub fn engine(limits: &Limits) -> Result<Engine> {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(limits.max_instances.saturating_mul(2))
        .total_memories(limits.max_instances.saturating_mul(4))
        .total_tables(limits.max_instances.saturating_mul(8))
        .max_memory_size(limits.memory_bytes);
    let mut config = Config::new();
    config.epoch_interruption(true).allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    if let Some(dir) = &limits.cache_dir {
        let dir = std::path::absolute(dir).with_context(|| format!("cache directory {}", dir.display()))?;
        let mut cache = CacheConfig::new();
        cache.with_directory(dir);
        config.cache(Some(Cache::new(cache).map_err(anyhow::Error::from).context("opening the compilation cache")?));
    }
    Engine::new(&config).map_err(anyhow::Error::from).context("configuring wasmtime")
}

impl App {
    /// Loads `manifest`: resolves variables from `env`, opens the SQLite databases the components use (from
    /// `runtime_config`, `default` beside the manifest otherwise), compiles and links every routed component.
    pub fn load(
        manifest: &Manifest,
        runtime_config: &RuntimeConfig,
        env: impl Fn(&str) -> Option<String>,
        limits: Limits,
    ) -> Result<Self> {
        let variables = AppVariables::resolve(&manifest.variables, env)?;
        let mut locations = runtime_config.sqlite_databases.clone();
        locations.entry("default".to_owned()).or_insert_with(|| default_location(&manifest.dir));
        let used: BTreeMap<_, _> = manifest
            .components
            .values()
            .flat_map(|component| component.sqlite_databases.iter().map(move |label| (label, &component.id)))
            .map(|(label, id)| match locations.get(label) {
                Some(location) => Ok((label.clone(), location.clone())),
                None => Err(anyhow::anyhow!(
                    "component.{id}.sqlite_databases: no database {label:?} is defined (the runtime config \
                     defines databases other than \"default\")"
                )),
            })
            .collect::<Result<_>>()?;
        let sqlite = Arc::new(Databases::open(&used).context("opening SQLite databases")?);
        let engine = engine(&limits)?;
        let mut linker = Linker::<RequestState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(anyhow::Error::from).context("adding WASI 0.2")?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
            .map_err(anyhow::Error::from)
            .context("adding wasi:http")?;
        crate::variables_host::add_to_linker(&mut linker)
            .map_err(anyhow::Error::from)
            .context("adding fermyon:spin/variables")?;
        crate::sqlite_host::add_to_linker(&mut linker).map_err(anyhow::Error::from).context("adding spin:sqlite")?;
        crate::redis_host::add_to_linker(&mut linker)
            .map_err(anyhow::Error::from)
            .context("adding fermyon:spin/redis")?;
        crate::postgres_host::add_to_linker(&mut linker)
            .map_err(anyhow::Error::from)
            .context("adding spin:postgres/postgres")?;
        let postgres = Arc::new(Pools::default());
        let redis = Arc::new(crate::redis_pool::RedisPool::default());

        let mut routes = Vec::new();
        let mut components = BTreeMap::new();
        for trigger in &manifest.http_triggers {
            let Some(route) = &trigger.route else { continue };
            routes.push((route.clone(), trigger.component.clone()));
            if components.contains_key(&trigger.component) {
                continue;
            }
            let component = manifest
                .components
                .get(&trigger.component)
                .with_context(|| format!("component {:?} is not defined", trigger.component))?;
            let id = &component.id;
            let hosts = component
                .allowed_outbound_hosts
                .iter()
                .map(|template| variables.render(template))
                .collect::<Result<Vec<_>, _>>()
                .with_context(|| format!("component.{id}.allowed_outbound_hosts"))?;
            let allowed =
                AllowedHosts::parse(&hosts).with_context(|| format!("component.{id}.allowed_outbound_hosts"))?;
            let config = Arc::new(ComponentConfig {
                id: id.clone(),
                variables: variables.for_component(id, &component.variables)?,
                outbound_http: OutboundHttp::new(allowed),
                sqlite: sqlite.clone(),
                sqlite_labels: component.sqlite_databases.clone(),
                postgres: postgres.clone(),
                redis: redis.clone(),
            });
            let wasm = if component.dependencies.is_empty() {
                let path = manifest.dir.join(&component.source);
                Component::from_file(&engine, &path)
                    .map_err(anyhow::Error::from)
                    .with_context(|| format!("component.{id}.source: cannot load {}", path.display()))?
            } else {
                let composed = crate::compose::load_composed(manifest, component)?;
                Component::new(&engine, &composed)
                    .map_err(anyhow::Error::from)
                    .with_context(|| format!("component {id:?}: cannot compile the composed component"))?
            };
            let pre = linker
                .instantiate_pre(&wasm)
                .map_err(anyhow::Error::from)
                .with_context(|| format!("component {id:?} needs an import mfa-host does not provide"))?;
            let pre = ProxyPre::new(pre)
                .map_err(anyhow::Error::from)
                .with_context(|| format!("component {id:?} does not export wasi:http/incoming-handler@0.2"))?;
            components.insert(id.clone(), Routed { pre, config });
        }
        let slots = Semaphore::new(usize::try_from(limits.max_instances).unwrap_or(usize::MAX));
        let router = Router::new(routes);
        let migration_key =
            router.route(MIGRATE_PATH).and(variables.get("api_key")).filter(|key| !key.is_empty()).map(str::to_owned);
        Ok(Self { engine, router, components, limits, slots, metrics: Arc::default(), migration_key })
    }

    /// The service API key to call [`MIGRATE_PATH`] with at start, when the app routes that path and its
    /// `api_key` variable has a value (this project's convention; other apps have neither).
    pub fn migration_key(&self) -> Option<&str> {
        self.migration_key.as_deref()
    }

    /// Serves requests from `listener` (and metrics from `admin`) until `shutdown` completes, then lets in-flight
    /// requests finish, waiting at most the request timeout plus [`DRAIN_GRACE`].
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        admin: Option<TcpListener>,
        shutdown: impl Future<Output = ()>,
    ) -> Result<()> {
        let admin = admin.map(|admin| tokio::spawn(crate::metrics::serve_admin(self.metrics.clone(), admin)));
        // A thread of its own, so a guest spinning on every tokio worker cannot stop the clock that stops it.
        let ticking = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let ticker = {
            let (engine, ticking) = (self.engine.clone(), ticking.clone());
            std::thread::Builder::new().name("epoch-ticker".into()).spawn(move || {
                while ticking.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })?
        };
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let connections = Arc::new(Semaphore::new(self.limits.max_connections));
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (stream, client) = match accepted {
                        Ok(pair) => pair,
                        Err(error) => {
                            tracing::warn!(%error, "accept failed");
                            continue;
                        }
                    };
                    let Ok(open) = connections.clone().try_acquire_owned() else {
                        tokio::spawn(refuse_connection(stream));
                        continue;
                    };
                    let app = self.clone();
                    let service = hyper::service::service_fn(move |request| {
                        let app = app.clone();
                        async move { Ok::<_, std::convert::Infallible>(app.handle(request, client).await) }
                    });
                    let connection = hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(self.limits.header_read_timeout)
                        .serve_connection(TokioIo::new(stream), service);
                    let connection = graceful.watch(connection);
                    tokio::spawn(async move {
                        if let Err(error) = connection.await {
                            tracing::debug!(%error, "connection ended with an error");
                        }
                        drop(open);
                    });
                }
                () = &mut shutdown => break,
            }
        }
        drop(listener);
        if tokio::time::timeout(self.limits.request_timeout + DRAIN_GRACE, graceful.shutdown()).await.is_err() {
            tracing::warn!("stopping with connections still open after the drain time");
        }
        ticking.store(false, std::sync::atomic::Ordering::Relaxed);
        let _ = ticker.join();
        if let Some(admin) = admin {
            admin.abort();
        }
        Ok(())
    }

    /// Answers one request, logging one line (method, route, status, duration) and nothing else of it.
    async fn handle(&self, request: Request<Incoming>, client: SocketAddr) -> Response<HyperOutgoingBody> {
        let started = Instant::now();
        let method = request.method().clone();
        let (route, response) = self.dispatch(request, client).await;
        self.metrics.observe(route.as_deref(), response.status().as_u16(), started.elapsed());
        tracing::info!(
            %method,
            route = route.as_deref().unwrap_or("-"),
            status = response.status().as_u16(),
            duration_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request"
        );
        response
    }

    async fn dispatch(
        &self,
        mut request: Request<Incoming>,
        client: SocketAddr,
    ) -> (Option<String>, Response<HyperOutgoingBody>) {
        let path = request.uri().path().to_owned();
        if path == "/.well-known/spin/health" {
            return (None, crate::answers::health());
        }
        if path.starts_with(WELL_KNOWN_PREFIX) {
            return (None, Refusal::NoRoute.answer());
        }
        let Some(matched) = self.router.route(&path) else {
            return (None, Refusal::NoRoute.answer());
        };
        let route = matched.raw_route().to_owned();
        let Some(component) = self.components.get(matched.value()) else {
            return (Some(route), Refusal::Internal.answer());
        };
        let host = request.headers().get(HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost").to_owned();
        let path_and_query = request.uri().path_and_query().map_or_else(|| path.clone(), ToString::to_string);
        let spin_headers = [
            ("spin-path-info", matched.path_info().to_owned()),
            ("spin-full-url", format!("http://{host}{path_and_query}")),
            ("spin-matched-route", matched.matched_route().to_owned()),
            ("spin-base-path", "/".to_owned()),
            ("spin-raw-component-route", matched.raw_route().to_owned()),
            ("spin-component-route", matched.component_route().to_owned()),
            ("spin-client-addr", client.to_string()),
        ];
        let params: Vec<(String, String)> =
            matched.params().iter().map(|(name, value)| (header_name_for_param(name), value.clone())).collect();
        let headers = request.headers_mut();
        for (name, value) in spin_headers.into_iter().map(|(n, v)| (n.to_owned(), v)).chain(params) {
            // Appended after the client's own values, as Spin does: a forged `spin-client-addr` stays first.
            match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
                (Ok(name), Ok(value)) => {
                    headers.append(name, value);
                }
                _ => return (Some(route), Refusal::Internal.answer()),
            }
        }
        // The whole body first: a client that sends it slowly, or never, must not hold an instance meanwhile.
        let request = match self.read_body(request).await {
            Ok(request) => request,
            Err(refusal) => return (Some(route), refusal.answer()),
        };
        let permit = match tokio::time::timeout(self.limits.queue_timeout, self.slots.acquire()).await {
            Ok(Ok(permit)) => permit,
            _ => return (Some(route), Refusal::Busy.answer()),
        };
        let in_use = self.metrics.instance_in_use();
        let response = self.run(component, request).await;
        drop(in_use);
        drop(permit);
        (Some(route), response)
    }

    /// Reads `request`'s whole body (at most [`Limits::max_body_bytes`], each part within
    /// [`Limits::body_idle_timeout`]); the request with the body in memory, or why it is refused.
    async fn read_body(&self, request: Request<Incoming>) -> Result<Request<Full<Bytes>>, Refusal> {
        let cap = self.limits.max_body_bytes;
        let declared = request.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
        if declared.is_some_and(|length| length > cap) {
            return Err(Refusal::BodyTooLarge);
        }
        let (parts, mut body) = request.into_parts();
        let mut bytes = Vec::new();
        loop {
            match tokio::time::timeout(self.limits.body_idle_timeout, body.frame()).await {
                Err(_) => return Err(Refusal::BodyStalled),
                Ok(None) => break,
                Ok(Some(Err(_))) => return Err(Refusal::BodyUnreadable),
                Ok(Some(Ok(frame))) => {
                    if let Some(data) = frame.data_ref() {
                        if u64::try_from(bytes.len().saturating_add(data.len())).unwrap_or(u64::MAX) > cap {
                            return Err(Refusal::BodyTooLarge);
                        }
                        bytes.extend_from_slice(data);
                    }
                }
            }
        }
        Ok(Request::from_parts(parts, Full::new(Bytes::from(bytes))))
    }

    /// Runs the component for one request in a fresh store.
    async fn run(&self, component: &Routed, request: Request<Full<Bytes>>) -> Response<HyperOutgoingBody> {
        let limits = StoreLimitsBuilder::new().memory_size(self.limits.memory_bytes).instances(16).build();
        let mut store = Store::new(&self.engine, RequestState::new(component.config.clone(), limits));
        store.limiter(|state| &mut state.limits);
        // At every epoch tick the guest yields to the other requests on its worker thread (a long computation, such as
        // a password hash, must not keep a request that holds a database lock from running), and once its time budget
        // is spent it is interrupted.
        let (started, budget) = (Instant::now(), self.limits.request_timeout);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if started.elapsed() >= budget { Err(Trap::Interrupt.into()) } else { Ok(UpdateDeadline::Yield(1)) }
        });

        let (sender, receiver) = tokio::sync::oneshot::channel();
        let prepared = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, request)
            .and_then(|request| Ok((request, store.data_mut().http().new_response_outparam(sender)?)));
        let (incoming, outparam) = match prepared {
            Ok(pair) => pair,
            Err(error) => {
                tracing::warn!(component = %component.config.id, error = %format!("{error:#}"), "cannot pass the request");
                return Refusal::Internal.answer();
            }
        };
        let pre = component.pre.clone();
        let task = tokio::spawn(async move {
            let proxy = pre.instantiate_async(&mut store).await?;
            proxy.wasi_http_incoming_handler().call_handle(&mut store, incoming, outparam).await
        });
        // The epoch deadline only stops Wasm code; a guest waiting inside a host call (a slow query, a lock) is
        // stopped here, a little after its budget, by dropping its task and store.
        let Ok(answered) = tokio::time::timeout(self.limits.request_timeout + HOST_CALL_GRACE, receiver).await else {
            task.abort();
            tracing::warn!(component = %component.config.id, "guest over its time budget inside a host call");
            return Refusal::GuestTimedOut.answer();
        };
        match answered {
            Ok(Ok(response)) => response,
            Ok(Err(error)) => {
                tracing::warn!(component = %component.config.id, %error, "guest answered with an error");
                Refusal::GuestFailed.answer()
            }
            Err(_) => {
                let error = match task.await {
                    Ok(Ok(())) => None,
                    Ok(Err(error)) => Some(error),
                    Err(join) => Some(wasmtime::Error::msg(join.to_string())),
                };
                let timed_out = error.as_ref().and_then(|e| e.downcast_ref::<Trap>()) == Some(&Trap::Interrupt);
                tracing::warn!(
                    component = %component.config.id,
                    error = %error.map_or_else(|| "guest never set a response".to_owned(), |e| format!("{e:#}")),
                    "guest failed"
                );
                if timed_out { Refusal::GuestTimedOut.answer() } else { Refusal::GuestFailed.answer() }
            }
        }
    }
}

/// Answers a connection over the cap with 503 and closes it, without reading its request (a client that does not
/// read the answer is given up on after a second).
async fn refuse_connection(mut stream: tokio::net::TcpStream) {
    let answer = Refusal::Busy.raw();
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(&answer)).await;
    let _ = stream.shutdown().await;
}
