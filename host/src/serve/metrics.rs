//! Prometheus metrics for `mfa-host up`, served in the text exposition format at `GET /metrics` on the separate
//! admin listener (`--admin-listen`), never on the app's own port.
//!
//! - `mfa_host_requests_total{route, status}`: requests answered, by the manifest route that matched (`-` for
//!   none, so the label set stays as small as the manifest) and HTTP status;
//! - `mfa_host_request_duration_seconds{route}`: latency histogram, from the request's arrival to its response
//!   head;
//! - `mfa_host_instances_in_use`: component instances running now (capped by `--max-instances`).

use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::CONTENT_TYPE;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

/// Latency buckets from 250 µs to about 8 s, doubling.
#[derive(Clone)]
struct LatencyBuckets;

impl MetricConstructor<Histogram> for LatencyBuckets {
    fn new_metric(&self) -> Histogram {
        Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
    }
}

/// The host's metrics; cheap to update from every request.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, LatencyBuckets>,
    instances: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::new_with_constructor(LatencyBuckets);
        let instances = Gauge::default();
        let mut registry = Registry::with_prefix("mfa_host");
        registry.register("requests", "Requests answered, by matched route and status", requests.clone());
        registry.register(
            "request_duration_seconds",
            "Time from a request's arrival to its response head, by matched route",
            latency.clone(),
        );
        registry.register("instances_in_use", "Component instances running now", instances.clone());
        Self { registry, requests, latency, instances }
    }
}

/// Holds one instance slot in the gauge while alive.
pub struct InstanceInUse<'a>(&'a Gauge);

impl Drop for InstanceInUse<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl Metrics {
    /// Records one answered request.
    pub fn observe(&self, route: Option<&str>, status: u16, elapsed: Duration) {
        let route = route.unwrap_or("-").to_owned();
        self.latency.get_or_create(&RouteLabels { route: route.clone() }).observe(elapsed.as_secs_f64());
        self.requests.get_or_create(&RequestLabels { route, status }).inc();
    }

    /// Counts an instance as running until the returned guard is dropped.
    pub fn instance_in_use(&self) -> InstanceInUse<'_> {
        self.instances.inc();
        InstanceInUse(&self.instances)
    }

    /// The metrics in Prometheus' text format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// Serves `GET /metrics` (and 404 for anything else) on `listener` until the task is dropped.
pub async fn serve_admin(metrics: Arc<Metrics>, listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let metrics = metrics.clone();
        let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
            let response = admin_response(&metrics, request.method(), request.uri().path());
            async move { Ok::<_, std::convert::Infallible>(response) }
        });
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

fn admin_response(metrics: &Metrics, method: &Method, path: &str) -> Response<Full<Bytes>> {
    let (status, body) = match (method, path) {
        (&Method::GET, "/metrics") => (StatusCode::OK, metrics.render()),
        (_, "/metrics") => (StatusCode::METHOD_NOT_ALLOWED, String::new()),
        _ => (StatusCode::NOT_FOUND, String::new()),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if status == StatusCode::OK {
        response
            .headers_mut()
            .insert(CONTENT_TYPE, hyper::header::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_requests_by_route_and_status_and_tracks_instances() {
        let metrics = Metrics::default();
        metrics.observe(Some("/echo/..."), 200, Duration::from_millis(3));
        metrics.observe(Some("/echo/..."), 200, Duration::from_millis(5));
        metrics.observe(None, 404, Duration::from_micros(40));
        let guard = metrics.instance_in_use();
        let text = metrics.render();
        assert!(text.contains("mfa_host_requests_total{route=\"/echo/...\",status=\"200\"} 2"), "{text}");
        assert!(text.contains("mfa_host_requests_total{route=\"-\",status=\"404\"} 1"), "{text}");
        assert!(text.contains("mfa_host_request_duration_seconds_count{route=\"/echo/...\"} 2"), "{text}");
        assert!(text.contains("mfa_host_instances_in_use 1"), "{text}");
        drop(guard);
        assert!(metrics.render().contains("mfa_host_instances_in_use 0"));
    }

    #[test]
    fn admin_answers_only_get_metrics() {
        let metrics = Metrics::default();
        assert_eq!(admin_response(&metrics, &Method::GET, "/metrics").status(), StatusCode::OK);
        assert_eq!(admin_response(&metrics, &Method::POST, "/metrics").status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(admin_response(&metrics, &Method::GET, "/").status(), StatusCode::NOT_FOUND);
    }
}
