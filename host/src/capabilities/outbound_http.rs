//! `wasi:http/outgoing-handler` as Spin enforces it: a request to a destination outside the component's
//! `allowed_outbound_hosts` is not sent, and the guest's response future resolves to
//! `error-code::http-request-denied` (Spin's behaviour: the call itself succeeds, the denial arrives through the
//! future). Allowed requests go out through wasmtime-wasi-http's default client.

use std::future::Future;
use std::sync::Arc;

use wasmtime_wasi_http::p2::bindings::http::types::ErrorCode;
use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks};

use crate::app::allowed_hosts::AllowedHosts;

/// A component's outbound HTTP policy.
#[derive(Clone, Debug, Default)]
pub struct OutboundHttp {
    allowed: Arc<AllowedHosts>,
}

impl OutboundHttp {
    /// The policy allowing exactly `allowed`.
    pub fn new(allowed: AllowedHosts) -> Self {
        Self { allowed: Arc::new(allowed) }
    }

    /// The component's `allowed_outbound_hosts` (also what Redis addresses are checked against).
    pub fn allowed_hosts(&self) -> &AllowedHosts {
        &self.allowed
    }

    /// Whether a request to `uri` may be sent (a URI without a scheme is read as `https`, as Spin does).
    pub fn allows(&self, uri: &str) -> bool {
        self.allowed.allows_address(uri, "https")
    }
}

type Response = http::Response<WasiBody>;
type IoFuture = Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>;

impl WasiHttpHooks for OutboundHttp {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: IoFuture,
    ) -> Box<dyn Future<Output = Result<(Response, IoFuture), wasmtime_wasi_http::Error>> + Send> {
        let uri = request.uri().to_string();
        if !self.allows(&uri) {
            let scheme = request.uri().scheme_str().unwrap_or("https").to_owned();
            let authority = request.uri().authority().map(|a| a.to_string()).unwrap_or_default();
            tracing::error!(destination = %format!("{scheme}://{authority}"), "outbound HTTP destination not allowed");
            eprintln!(
                "A component tried to make an outbound network connection to disallowed destination \
                 '{scheme}://{authority}'.\nTo allow this request, add 'allowed_outbound_hosts = \
                 [\"{scheme}://{authority}\"]' to the manifest component section."
            );
            return Box::new(async { Err(ErrorCode::HttpRequestDenied.into()) });
        }
        let default = wasmtime_wasi_http::default_hooks();
        default.send_request(request, options, fut)
    }
}
