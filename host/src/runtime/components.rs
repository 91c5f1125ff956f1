//! The app's components, loaded once at startup as Spin's HTTP trigger loads them: variables are resolved (a
//! required one without a value stops startup, naming it), the SQLite databases the components use are opened
//! (from the runtime config, `default` beside the manifest otherwise), and each routed component is composed with
//! its dependencies if it has any, then compiled once (or taken from the on-disk cache) into a `ProxyPre` with the
//! [`super::linker`], so an import this host does not provide is a startup error naming the component.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context, Result};
use wasmtime::Engine;
use wasmtime::component::Component;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use super::engine::EngineConfig;
use super::reuse::{ReusePolicy, WarmInstances};
use super::state::{ComponentConfig, RequestState};
use crate::app::allowed_hosts::AllowedHosts;
use crate::app::compose::load_composed;
use crate::app::manifest::Manifest;
use crate::app::runtime_config::RuntimeConfig;
use crate::app::variables::AppVariables;
use crate::capabilities::outbound_http::OutboundHttp;
use crate::capabilities::postgres::Pools;
use crate::capabilities::redis::RedisPool;
use crate::capabilities::sqlite::Databases;
use crate::capabilities::tls::TrustedRoots;

/// One routed component, ready to instantiate for each request.
pub struct LoadedComponent {
    /// Compiled and linked.
    pub(super) pre: ProxyPre<RequestState>,
    /// What it may use.
    pub(super) config: Arc<ComponentConfig>,
    /// Its instances kept for reuse.
    pub(super) warm: Arc<WarmInstances>,
}

/// Every routed component of the app, by id, and the engine they were compiled with.
pub struct Components {
    engine: Engine,
    variables: AppVariables,
    by_id: BTreeMap<String, LoadedComponent>,
}

impl Components {
    /// Loads every component `manifest` routes to: resolves variables (and the trusted TLS roots, [`TrustedRoots`])
    /// from `env`, opens the SQLite databases the
    /// components use, compiles and links each component with an engine made by `engine`; Redis commands give up
    /// after `redis_timeout`; instances are reused as `reuse` says.
    pub fn load(
        manifest: &Manifest,
        runtime_config: &RuntimeConfig,
        env: impl Fn(&str) -> Option<String>,
        engine: &EngineConfig,
        redis_timeout: std::time::Duration,
        reuse: ReusePolicy,
    ) -> Result<Self> {
        // Installed once per process: the provider Redis' TLS client asks rustls for.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let roots = TrustedRoots::from_env(&env).context("reading the trusted TLS roots")?;
        let variables = AppVariables::resolve(&manifest.variables, env)?;
        let sqlite =
            Arc::new(Databases::open(&runtime_config.sqlite_locations(manifest)?).context("opening SQLite databases")?);
        let engine = super::engine::new(engine)?;
        let linker = super::linker::new(&engine)?;
        let postgres = Arc::new(Pools::new(runtime_config.postgres.clone(), roots.clone()));
        let redis = Arc::new(RedisPool::new(redis_timeout, roots));

        let mut by_id = BTreeMap::new();
        for trigger in manifest.http_triggers.iter().filter(|trigger| trigger.route.is_some()) {
            if by_id.contains_key(&trigger.component) {
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
                let composed = load_composed(manifest, component)?;
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
            by_id.insert(id.clone(), LoadedComponent { pre, config, warm: Arc::new(WarmInstances::new(reuse)) });
        }
        Ok(Self { engine, variables, by_id })
    }

    /// The engine the components were compiled with.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The component with id `id`, if the app routes to it.
    pub fn get(&self, id: &str) -> Option<&LoadedComponent> {
        self.by_id.get(id)
    }

    /// The value of application variable `name`, if the manifest declares it.
    pub fn variable(&self, name: &str) -> Option<&str> {
        self.variables.get(name)
    }
}
