//! The operator's endpoints: `GET /healthz` (the app answers), `GET /readyz` (policies usable, stores reachable,
//! schema current), `GET /openapi.json`, `POST /v1/admin/migrate` and `GET /v1/admin/metrics` (both with the
//! service API key).

use serde_json::json;

use super::answer::Answer;
use super::caller;
use crate::domain::context::Ctx;
use crate::domain::operations;
use crate::http::{Reply, Request};

/// The OpenAPI 3.1 description of every route (kept equal to the route table by a test).
pub const OPENAPI: &str = include_str!("../../openapi.json");

/// `GET /openapi.json`.
pub fn openapi(_: &Request, _: &Ctx) -> Answer {
    Ok(Reply::content("application/json", OPENAPI.into()))
}

/// `GET /healthz`.
pub fn healthz(_: &Request, _: &Ctx) -> Answer {
    Ok(Reply::json(200, &json!({"status": "ok"})))
}

/// `GET /readyz`: 200 while the app can serve (Redis unreachable is `degraded: ["redis"]`).
pub fn ready(_: &Request, ctx: &Ctx) -> Answer {
    let ready = operations::ready(ctx)?;
    Ok(Reply::json(
        200,
        &json!({
            "status": "ready",
            "schema_version": ready.schema_version,
            "degraded": ready.degraded,
            "redis_outage_since": ready.redis_outage_since,
        }),
    ))
}

/// `POST /v1/admin/migrate`: called once at start (`mfa-host up --startup-request`, or the deployment's first
/// call), so a policy that would break every login stops the start, not the first user.
pub fn migrate(request: &Request, ctx: &Ctx) -> Answer {
    caller::service(request, ctx)?;
    let (applied, version) = operations::migrate(ctx)?;
    Ok(Reply::json(200, &json!({"applied": applied, "schema_version": version})))
}

/// `GET /v1/admin/metrics`: the app's own counters in Prometheus' text format.
pub fn metrics(request: &Request, ctx: &Ctx) -> Answer {
    caller::service(request, ctx)?;
    let counters = operations::metrics(ctx)?;
    Ok(Reply::content("text/plain; version=0.0.4; charset=utf-8", exposition(&counters).into_bytes()))
}

/// The counters in Prometheus' text exposition format (each series family announced once, as a counter), named
/// `mfa_<series>`.
pub fn exposition(counters: &[(String, i64)]) -> String {
    let mut text = String::new();
    let mut announced: Vec<&str> = Vec::new();
    for (name, value) in counters {
        let family = name.split('{').next().unwrap_or(name);
        if !announced.contains(&family) {
            announced.push(family);
            text.push_str(&format!("# TYPE mfa_{family} counter\n"));
        }
        text.push_str(&format!("mfa_{name} {value}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_exposed_with_one_type_line_per_family() {
        let counters = vec![
            ("event_write_failures_total{kind=\"login_failed\"}".to_owned(), 2),
            ("event_write_failures_total{kind=\"session_created\"}".to_owned(), 1),
        ];
        assert_eq!(
            exposition(&counters),
            "# TYPE mfa_event_write_failures_total counter\n\
             mfa_event_write_failures_total{kind=\"login_failed\"} 2\n\
             mfa_event_write_failures_total{kind=\"session_created\"} 1\n"
        );
    }
}
