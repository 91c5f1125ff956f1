//! Answering one request: `/.well-known/spin/health` answers `OK`; other paths go through Spin's router (no match:
//! 404); the request reaches the guest with Spin's `spin-*` headers appended after the client's own. The body is read
//! in full BEFORE an instance slot is taken, each part within the body idle timeout (else 408), and a body over the
//! cap is refused with 413 (at once when its `Content-Length` says so); a request that finds no free slot in time
//! gets 503. Every answered request is logged in one line and counted in the [`super::metrics`].

use std::net::SocketAddr;
use std::time::Instant;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_LENGTH, HOST, HeaderName, HeaderValue};
use hyper::{Request, Response};
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

use super::answers::{self, Refusal};
use super::app::App;
use crate::app::routes::{WELL_KNOWN_PREFIX, header_name_for_param};

impl App {
    /// Answers one request, counting it in the metrics and logging one line at debug level (method, route, status,
    /// duration; nothing else of it): like Spin, no access log unless asked for (`RUST_LOG=mfa_host=debug`), since
    /// a line per request costs more than a cheap request itself.
    pub(super) async fn handle(&self, request: Request<Incoming>, client: SocketAddr) -> Response<HyperOutgoingBody> {
        let started = Instant::now();
        let method = request.method().clone();
        let (route, response) = self.dispatch(request, client).await;
        self.metrics.observe(route.as_deref(), response.status().as_u16(), started.elapsed());
        tracing::debug!(
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
            return (None, answers::health());
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
        let response = component.call(request, self.limits.memory_bytes, self.limits.request_timeout).await;
        drop(in_use);
        drop(permit);
        (Some(route), response.unwrap_or_else(|failure| Refusal::from(failure).answer()))
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
}
