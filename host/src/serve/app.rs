//! The loaded app: its routed components, loaded once ([`crate::runtime::components`]), and Spin's router over its
//! `[[trigger.http]]` routes, with the limits, instance slots and metrics it is served under.

use std::sync::Arc;

use anyhow::Result;
use tokio::sync::Semaphore;

use super::limits::Limits;
use super::metrics::Metrics;
use crate::app::manifest::Manifest;
use crate::app::routes::Router;
use crate::app::runtime_config::RuntimeConfig;
use crate::runtime::components::Components;

/// The loaded app: its router and one pre-instantiated component per routed component.
pub struct App {
    /// The routed components.
    pub(super) components: Components,
    /// Which component handles a path, by id.
    pub(super) router: Router<String>,
    /// What it is served under.
    pub(super) limits: Limits,
    /// One permit per instance that may run at once.
    pub(super) slots: Semaphore,
    /// Requests, latencies and instances in use.
    pub(super) metrics: Arc<Metrics>,
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
        let components =
            Components::load(manifest, runtime_config, env, &limits.engine(), limits.redis_timeout, limits.reuse())?;
        let routes = manifest
            .http_triggers
            .iter()
            .filter_map(|trigger| Some((trigger.route.clone()?, trigger.component.clone())))
            .collect();
        let slots = Semaphore::new(usize::try_from(limits.max_instances).unwrap_or(usize::MAX));
        Ok(Self { components, router: Router::new(routes), limits, slots, metrics: Arc::default() })
    }

    /// The value of application variable `name` as resolved at load, if the manifest declares it.
    pub fn variable(&self, name: &str) -> Option<&str> {
        self.components.variable(name)
    }
}
