//! The answers the host makes itself, without a guest (no route, a body too large or too slow, no free instance,
//! a guest that trapped or ran out of time, the health check, a connection over the cap): a JSON error body in the
//! shape apps answer with (`{"error": {"code", "message"}}`, a stable snake_case code) and the same security
//! headers, so a client never meets an empty or unprotected 5xx.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue, RETRY_AFTER};
use hyper::{Response, StatusCode};
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

use crate::runtime::call::Failure;

/// Headers on every answer the host makes: HTTPS only, no sniffing, no framing, no referrer, nothing cached.
const SECURITY_HEADERS: &[(&str, &str)] = &[
    ("strict-transport-security", "max-age=63072000; includeSubDomains"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("content-security-policy", "default-src 'none'; frame-ancestors 'none'"),
    ("referrer-policy", "no-referrer"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
    ("cache-control", "no-store"),
];

/// When a client turned away for lack of capacity may try again, in seconds.
const BUSY_RETRY_AFTER: &str = "1";

/// Why the host answered a request itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No route matches the path (404).
    NoRoute,
    /// The body's declared or actual size is over the cap (413).
    BodyTooLarge,
    /// The client stopped sending its body (408).
    BodyStalled,
    /// The body could not be read (400).
    BodyUnreadable,
    /// No instance slot came free in time (503).
    Busy,
    /// The guest trapped or answered with an error (500).
    GuestFailed,
    /// The guest ran out of time (504).
    GuestTimedOut,
    /// The host could not hand the request over (500).
    Internal,
}

impl Refusal {
    /// Its status, stable code and message.
    fn parts(self) -> (StatusCode, &'static str, &'static str) {
        match self {
            Self::NoRoute => (StatusCode::NOT_FOUND, "not_found", "no route matches this path"),
            Self::BodyTooLarge => {
                (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", "the request body is larger than this server takes")
            }
            Self::BodyStalled => {
                (StatusCode::REQUEST_TIMEOUT, "body_timeout", "the request body stopped arriving: send it again")
            }
            Self::BodyUnreadable => (StatusCode::BAD_REQUEST, "bad_request", "the request body could not be read"),
            Self::Busy => (StatusCode::SERVICE_UNAVAILABLE, "overloaded", "the server is busy: try again shortly"),
            Self::GuestFailed => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "the request failed"),
            Self::GuestTimedOut => (StatusCode::GATEWAY_TIMEOUT, "timeout", "the request took too long"),
            Self::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "the request could not be served"),
        }
    }

    /// The seconds after which a client may try again (`Retry-After`), for a refusal that passes.
    fn retry_after(self) -> Option<&'static str> {
        matches!(self, Self::Busy).then_some(BUSY_RETRY_AFTER)
    }

    /// The status it answers.
    pub fn status(self) -> StatusCode {
        self.parts().0
    }

    /// The JSON error body.
    fn body(self) -> String {
        let (_, code, message) = self.parts();
        serde_json::json!({"error": {"code": code, "message": message}}).to_string()
    }

    /// The answer: its status, the JSON error body and the security headers.
    pub fn answer(self) -> Response<HyperOutgoingBody> {
        let mut response = with_headers(self.status(), "application/json", self.body());
        if let Some(seconds) = self.retry_after() {
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from_static(seconds));
        }
        response
    }

    /// The whole HTTP/1.1 response as bytes, for a connection refused before hyper serves it (it is then closed).
    pub fn raw(self) -> Vec<u8> {
        let (status, body) = (self.status(), self.body());
        let mut text = format!(
            "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
            status.as_u16(),
            status.canonical_reason().unwrap_or(""),
            body.len()
        );
        for (name, value) in SECURITY_HEADERS {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        if let Some(seconds) = self.retry_after() {
            text.push_str(&format!("retry-after: {seconds}\r\n"));
        }
        text.push_str("\r\n");
        text.push_str(&body);
        text.into_bytes()
    }
}

impl From<Failure> for Refusal {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Internal => Self::Internal,
            Failure::Failed => Self::GuestFailed,
            Failure::TimedOut => Self::GuestTimedOut,
        }
    }
}

/// `200 OK` for `/.well-known/spin/health`, as Spin answers it, with the security headers.
pub fn health() -> Response<HyperOutgoingBody> {
    with_headers(StatusCode::OK, "text/plain; charset=utf-8", "OK".to_owned())
}

fn with_headers(status: StatusCode, content_type: &'static str, body: String) -> Response<HyperOutgoingBody> {
    let mut response = Response::new(Full::new(Bytes::from(body)).map_err(|never| match never {}).boxed_unsync());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    for (name, value) in SECURITY_HEADERS {
        headers.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_has_a_json_body_and_the_security_headers() {
        for refusal in [Refusal::NoRoute, Refusal::BodyTooLarge, Refusal::Busy, Refusal::GuestTimedOut] {
            let response = refusal.answer();
            assert_eq!(response.status(), refusal.status());
            for (name, _) in SECURITY_HEADERS {
                assert!(response.headers().contains_key(*name), "{refusal:?} {name}");
            }
            let raw = String::from_utf8(refusal.raw()).unwrap_or_default();
            assert!(raw.starts_with(&format!("HTTP/1.1 {} ", refusal.status().as_u16())), "{raw}");
            assert!(raw.contains("x-frame-options: DENY\r\n") && raw.ends_with("\"}}"), "{raw}");
        }
    }

    #[test]
    fn only_a_busy_server_says_when_to_try_again() {
        assert_eq!(Refusal::Busy.answer().headers().get(RETRY_AFTER).map(HeaderValue::as_bytes), Some(&b"1"[..]));
        assert!(String::from_utf8(Refusal::Busy.raw()).unwrap_or_default().contains("\r\nretry-after: 1\r\n"));
        for refusal in [Refusal::NoRoute, Refusal::BodyTooLarge, Refusal::GuestFailed, Refusal::GuestTimedOut] {
            assert!(!refusal.answer().headers().contains_key(RETRY_AFTER), "{refusal:?}");
            assert!(!String::from_utf8(refusal.raw()).unwrap_or_default().contains("retry-after"), "{refusal:?}");
        }
    }
}
