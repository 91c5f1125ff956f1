//! `mfa-host up --startup-request METHOD PATH [--startup-bearer-variable NAME]`: one request the host sends to the
//! app through its own listener once it serves and before it announces itself (to apply an app's schema migrations,
//! for instance), so whoever waits for the banner finds the app ready. An answer other than 2xx stops startup with
//! the app's answer.

use std::net::SocketAddr;

use anyhow::{Context, Result};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;

/// A request to send once at startup.
pub struct StartupRequest {
    method: Method,
    path: String,
    bearer: Option<String>,
}

impl StartupRequest {
    /// `method path`: a path from `/`, with a query if any.
    pub fn new(method: &str, path: &str) -> Result<Self> {
        let method =
            Method::from_bytes(method.as_bytes()).with_context(|| format!("{method:?} is not an HTTP method"))?;
        anyhow::ensure!(path.starts_with('/'), "{path:?} is not a path: it must start with `/`");
        Ok(Self { method, path: path.to_owned(), bearer: None })
    }

    /// The same request with `authorization: Bearer <token>`.
    pub fn with_bearer(self, token: &str) -> Self {
        Self { bearer: Some(token.to_owned()), ..self }
    }

    /// Sends the request to `address`, as any client would; an answer other than 2xx is the error, with its body.
    pub async fn send(&self, address: SocketAddr) -> Result<()> {
        let (method, path) = (&self.method, &self.path);
        let stream = tokio::net::TcpStream::connect(address).await.context("connecting for the startup request")?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        let mut request = Request::builder().method(method.clone()).uri(path).header("host", address.to_string());
        if let Some(bearer) = &self.bearer {
            request = request.header("authorization", format!("Bearer {bearer}"));
        }
        let request = request.body(Empty::<Bytes>::new()).with_context(|| format!("{method} {path}"))?;
        let response = sender.send_request(request).await.with_context(|| format!("sending {method} {path}"))?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        let body = String::from_utf8_lossy(&body);
        anyhow::ensure!(status.is_success(), "{method} {path} answered {status}: {body}");
        tracing::info!(%method, %path, answer = %body, "startup request answered");
        Ok(())
    }
}
