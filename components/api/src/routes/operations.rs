//! The operator's endpoints: `GET /healthz` (the app answers), `GET /readyz` (policies usable, stores reachable,
//! schema current), `GET /openapi.json`, `POST /v1/admin/migrate`, `GET /v1/admin/metrics` and
//! `POST /v1/admin/reencrypt` (each with the service API key).

use serde::Deserialize;
use serde_json::json;

use super::answer::Answer;
use super::caller;
use crate::domain::context::Ctx;
use crate::domain::mfa::reencryption::{self, DEFAULT_BATCH, MAX_BATCH};
use crate::domain::operations;
use crate::http::{Reply, Request, body};

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

/// `POST /v1/admin/reencrypt`'s body: how many secrets to reseal at most (a JSON number with no fraction: `500.0`
/// is the integer JSON Schema says it is).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Batch {
    limit: Option<serde_json::Number>,
}

/// A whole `number` within `range`, as an integer.
fn whole_in(number: &serde_json::Number, range: std::ops::RangeInclusive<i64>) -> Option<i64> {
    let whole = number.as_i64().or_else(|| {
        let float = number.as_f64()?;
        // Within the range checked below, the cast is exact.
        (float.fract() == 0.0 && float.abs() < 1e15).then_some(float as i64)
    })?;
    range.contains(&whole).then_some(whole)
}

/// `POST /v1/admin/reencrypt`: reseals a batch of stored TOTP secrets under the current encryption key (see
/// [`reencryption`]); call it until `remaining` is 0 before removing an old key.
pub fn reencrypt(request: &Request, ctx: &Ctx) -> Answer {
    caller::service(request, ctx)?;
    let limit = match body::json_or_default::<Batch>(request)?.limit {
        None => DEFAULT_BATCH,
        Some(number) => whole_in(&number, 1..=MAX_BATCH).ok_or_else(|| {
            Reply::error(400, "invalid_field", &format!("limit must be a whole number from 1 to {MAX_BATCH}"))
        })?,
    };
    let done = reencryption::reencrypt(ctx, limit)?;
    Ok(Reply::json(
        200,
        &json!({
            "current_key": done.current_key,
            "resealed": done.resealed,
            "remaining": done.remaining,
            "unknown_key": done.unknown_key,
            "unreadable": done.unreadable,
        }),
    ))
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
    fn a_batch_limit_is_a_whole_number_in_range_written_either_way() {
        let number = |text: &str| serde_json::from_str::<serde_json::Number>(text).unwrap();
        assert_eq!(whole_in(&number("384"), 1..=1000), Some(384));
        assert_eq!(whole_in(&number("384.0"), 1..=1000), Some(384));
        assert_eq!(whole_in(&number("384.5"), 1..=1000), None);
        assert_eq!(whole_in(&number("0"), 1..=1000), None);
        assert_eq!(whole_in(&number("1e300"), 1..=1000), None);
        assert_eq!(whole_in(&number("-2"), 1..=1000), None);
    }

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
