//! The HTTP/1 server of `mfa-host up`, with hyper: it accepts connections until shutdown, then drains. A slow or
//! stalled client costs a socket, never an instance: the request head must arrive within the header timeout, and
//! open connections are capped (one over the cap is answered 503 and closed). SIGINT or SIGTERM stops accepting and
//! lets in-flight requests finish (for at most the request timeout plus [`DRAIN_GRACE`]).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use super::answers::Refusal;
use super::app::App;
use super::metrics;
use crate::runtime::engine::EpochTicker;

/// How long a drain may outlast the request timeout (a slow client still reading a response).
pub const DRAIN_GRACE: Duration = Duration::from_secs(5);

impl App {
    /// Serves requests from `listener` (and metrics from `admin`) until `shutdown` completes, then lets in-flight
    /// requests finish, waiting at most the request timeout plus [`DRAIN_GRACE`].
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        admin: Option<TcpListener>,
        shutdown: impl Future<Output = ()>,
    ) -> Result<()> {
        let admin = admin.map(|admin| tokio::spawn(metrics::serve_admin(self.metrics.clone(), admin)));
        let ticker = EpochTicker::start(self.components.engine())?;
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let connections = Arc::new(Semaphore::new(self.limits.max_connections));
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (stream, client) = match accepted {
                        Ok(pair) => pair,
                        Err(error) => {
                            tracing::warn!(%error, "accept failed");
                            continue;
                        }
                    };
                    let Ok(open) = connections.clone().try_acquire_owned() else {
                        tokio::spawn(refuse_connection(stream));
                        continue;
                    };
                    let app = self.clone();
                    let service = hyper::service::service_fn(move |request| {
                        let app = app.clone();
                        async move { Ok::<_, std::convert::Infallible>(app.handle(request, client).await) }
                    });
                    let connection = hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(self.limits.header_read_timeout)
                        .serve_connection(TokioIo::new(stream), service);
                    let connection = graceful.watch(connection);
                    tokio::spawn(async move {
                        if let Err(error) = connection.await {
                            tracing::debug!(%error, "connection ended with an error");
                        }
                        drop(open);
                    });
                }
                () = &mut shutdown => break,
            }
        }
        drop(listener);
        if tokio::time::timeout(self.limits.request_timeout + DRAIN_GRACE, graceful.shutdown()).await.is_err() {
            tracing::warn!("stopping with connections still open after the drain time");
        }
        drop(ticker);
        if let Some(admin) = admin {
            admin.abort();
        }
        Ok(())
    }
}

/// Answers a connection over the cap with 503 and closes it, without reading its request (a client that does not
/// read the answer is given up on after a second).
async fn refuse_connection(mut stream: tokio::net::TcpStream) {
    let answer = Refusal::Busy.raw();
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(&answer)).await;
    let _ = stream.shutdown().await;
}
