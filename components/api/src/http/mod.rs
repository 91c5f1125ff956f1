//! HTTP in and out, used by the routes only: reading a request with its body capped ([`MAX_BODY_BYTES`], else
//! 413), the client address as Spin reports it ([`client`]), JSON bodies ([`body`]), query parameters ([`query`]),
//! cookies ([`cookies`]), JSON answers and errors in the service's one shape (`{"error": {"code", "message"}}`, the
//! one mapping from the domain's errors: [`error`]), and the security headers every response carries.

pub mod body;
pub mod client;
pub mod cookies;
pub mod error;
pub mod query;

use std::net::{IpAddr, SocketAddr};

use serde::Serialize;
use spin_sdk::http::{Fields, IncomingRequest, Method, OutgoingResponse, ResponseOutparam};

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Headers on every response: HTTPS only, no sniffing, no framing, no referrer, nothing cached.
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

/// A request, read in full.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// The method, upper case (`GET`, `POST`, ...).
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query string, without `?`.
    pub query: String,
    /// The headers in order, names lower case.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body.
    pub body: Vec<u8>,
}

/// An answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// Headers besides the security headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// The JSON error body.
#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: &'a str,
}

impl Reply {
    /// A JSON answer.
    pub fn json(status: u16, value: &impl Serialize) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => {
                Self { status, headers: vec![("content-type".to_owned(), "application/json".to_owned())], body }
            }
            Err(_) => Self::error(500, "internal_error", "the answer could not be encoded"),
        }
    }

    /// A 200 answer of another media type (an image, a document).
    pub fn content(content_type: &str, body: Vec<u8>) -> Self {
        Self { status: 200, headers: vec![("content-type".to_owned(), content_type.to_owned())], body }
    }

    /// An error in the service's shape: `code` is stable snake_case, `message` is for humans.
    pub fn error(status: u16, code: &str, message: &str) -> Self {
        let body = serde_json::to_vec(&ErrorBody { error: ErrorDetail { code, message } }).unwrap_or_default();
        Self { status, headers: vec![("content-type".to_owned(), "application/json".to_owned())], body }
    }

    /// Adds a header.
    #[must_use]
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }
}

fn method_name(method: &Method) -> String {
    match method {
        Method::Get => "GET".to_owned(),
        Method::Post => "POST".to_owned(),
        Method::Put => "PUT".to_owned(),
        Method::Delete => "DELETE".to_owned(),
        Method::Patch => "PATCH".to_owned(),
        Method::Head => "HEAD".to_owned(),
        Method::Options => "OPTIONS".to_owned(),
        Method::Connect => "CONNECT".to_owned(),
        Method::Trace => "TRACE".to_owned(),
        Method::Other(other) => other.to_ascii_uppercase(),
    }
}

impl Request {
    /// Reads `request`, refusing a body over [`MAX_BODY_BYTES`] with 413 before reading the rest of it.
    pub async fn read(request: IncomingRequest) -> Result<Self, Reply> {
        use futures_util::StreamExt;

        let method = method_name(&request.method());
        let path_with_query = request.path_with_query().unwrap_or_else(|| "/".to_owned());
        let (path, query) = match path_with_query.split_once('?') {
            Some((path, query)) => (path.to_owned(), query.to_owned()),
            None => (path_with_query, String::new()),
        };
        let headers = request.headers().entries().into_iter().map(|(n, v)| (n.to_ascii_lowercase(), v)).collect();
        let mut body = Vec::new();
        let mut stream = std::pin::pin!(request.into_body_stream());
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|_| Reply::error(400, "bad_request", "the request body could not be read"))?;
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(Reply::error(
                    413,
                    "body_too_large",
                    &format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
                ));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Self { method, path, query, headers, body })
    }

    /// The last value of header `name` (lower case), as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().rev().find(|(n, _)| n == name).and_then(|(_, v)| std::str::from_utf8(v).ok())
    }

    /// The value of cookie `name`, from any `Cookie` header.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == "cookie")
            .filter_map(|(_, value)| std::str::from_utf8(value).ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(n, _)| n.trim() == name)
            .map(|(_, value)| value.trim())
    }

    /// The peer's address: the LAST `spin-client-addr` value without its port (Spin appends its own value after
    /// any the client sent, so only the last one is the truth).
    pub fn peer_ip(&self) -> Option<IpAddr> {
        let value = self.header("spin-client-addr")?.trim();
        value.parse::<SocketAddr>().map(|a| a.ip()).or_else(|_| value.parse::<IpAddr>()).ok()
    }
}

/// Writes `reply` with the security headers.
pub async fn send(out: ResponseOutparam, reply: Reply) {
    let mut headers: Vec<(String, Vec<u8>)> =
        reply.headers.into_iter().map(|(name, value)| (name, value.into_bytes())).collect();
    for (name, value) in SECURITY_HEADERS {
        if !headers.iter().any(|(n, _)| n == name) {
            headers.push(((*name).to_owned(), value.as_bytes().to_vec()));
        }
    }
    let fields = Fields::from_list(&headers).unwrap_or_else(|_| Fields::new());
    let response = OutgoingResponse::new(fields);
    if response.set_status_code(reply.status).is_err() {
        let _ = response.set_status_code(500);
    }
    if let Err(error) = out.set_with_body(response, reply.body).await {
        eprintln!("could not write a response body: {error:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(&str, &str)]) -> Request {
        Request {
            method: "GET".into(),
            path: "/".into(),
            headers: headers.iter().map(|(n, v)| ((*n).to_owned(), v.as_bytes().to_vec())).collect(),
            ..Request::default()
        }
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let request = request(&[("cookie", "a=1; __Host-s=tok"), ("cookie", "b = 2")]);
        assert_eq!(request.cookie("__Host-s"), Some("tok"));
        assert_eq!(request.cookie("b"), Some("2"));
        assert_eq!(request.cookie("s"), None);
    }

    #[test]
    fn the_client_ip_is_the_last_spin_client_addr_without_port() {
        let forged = request(&[("spin-client-addr", "6.6.6.6:1"), ("spin-client-addr", "10.0.0.7:51000")]);
        assert_eq!(forged.peer_ip(), Some("10.0.0.7".parse().unwrap()));
        let v6 = request(&[("spin-client-addr", "[2001:db8::1]:443")]);
        assert_eq!(v6.peer_ip(), Some("2001:db8::1".parse().unwrap()));
        assert_eq!(request(&[]).peer_ip(), None);
        assert_eq!(request(&[("spin-client-addr", "nonsense")]).peer_ip(), None);
    }

    #[test]
    fn errors_have_one_shape() {
        let reply = Reply::error(404, "not_found", "no such \"thing\"");
        assert_eq!(reply.status, 404);
        let body: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(body, serde_json::json!({"error": {"code": "not_found", "message": "no such \"thing\""}}));
    }
}
