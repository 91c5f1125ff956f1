//! One request in a fresh store and instance, as wasmtime's `serve` and Spin's HTTP trigger run it (or in an instance
//! kept from an earlier request of the same component, when reuse is on: [`super::reuse`]): the guest's
//! memory is capped, it yields to other requests at every epoch tick, and once its time budget is spent it is
//! interrupted (or, when it waits inside a host call, its task is dropped a little later). A guest that traps, answers
//! with an error or never answers is a [`Failure`], never a crash of the host.

use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response};
use wasmtime::{Store, StoreLimitsBuilder, Trap, UpdateDeadline};
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

use super::components::LoadedComponent;
use super::memory::MemoryWatch;
use super::state::RequestState;

/// How long past its time budget a guest stuck in a host call gets before its request is given up.
const HOST_CALL_GRACE: Duration = Duration::from_secs(1);

/// Why a request got no answer from its guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The host could not hand the request over.
    Internal,
    /// The guest trapped, answered with an error, or never set a response.
    Failed,
    /// The guest ran out of time.
    TimedOut,
}

impl LoadedComponent {
    /// Runs the component for `request` in a fresh store (or a parked instance), with at most `memory_bytes` of
    /// linear memory and `budget` of time; the guest's response, or why there is none.
    pub async fn call(
        &self,
        request: Request<Full<Bytes>>,
        memory_bytes: usize,
        budget: Duration,
    ) -> Result<Response<HyperOutgoingBody>, Failure> {
        let id = &self.config.id;
        let (mut store, warm_proxy, uses) = match self.warm.take() {
            Some(warm) => (warm.store, Some(warm.proxy), warm.uses),
            None => {
                let limits = StoreLimitsBuilder::new().memory_size(memory_bytes).instances(16).build();
                let state = RequestState::new(self.config.clone(), MemoryWatch::new(limits));
                let mut store = Store::new(self.pre.engine(), state);
                store.limiter(|state| &mut state.limits);
                (store, None, 0)
            }
        };
        store.data_mut().next_request();
        // At every epoch tick the guest yields to the other requests on its worker thread (a long computation, such as
        // a password hash, must not keep a request that holds a database lock from running), and once its time budget
        // is spent it is interrupted.
        let started = Instant::now();
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if started.elapsed() >= budget { Err(Trap::Interrupt.into()) } else { Ok(UpdateDeadline::Yield(1)) }
        });

        let (sender, receiver) = tokio::sync::oneshot::channel();
        let prepared = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, request)
            .and_then(|request| Ok((request, store.data_mut().http().new_response_outparam(sender)?)));
        let (incoming, outparam) = match prepared {
            Ok(pair) => pair,
            Err(error) => {
                tracing::warn!(component = %id, error = %format!("{error:#}"), "cannot pass the request");
                return Err(Failure::Internal);
            }
        };
        let (pre, warm) = (self.pre.clone(), self.warm.clone());
        let task = tokio::spawn(async move {
            let proxy = match warm_proxy {
                Some(proxy) => proxy,
                None => pre.instantiate_async(&mut store).await?,
            };
            proxy.wasi_http_incoming_handler().call_handle(&mut store, incoming, outparam).await?;
            // Handled without a trap: the instance may serve a next request.
            warm.park(store, proxy, uses.saturating_add(1));
            Ok::<(), wasmtime::Error>(())
        });
        // The epoch deadline only stops Wasm code; a guest waiting inside a host call (a slow query, a lock) is
        // stopped here, a little after its budget, by dropping its task and store.
        let Ok(answered) = tokio::time::timeout(budget + HOST_CALL_GRACE, receiver).await else {
            task.abort();
            tracing::warn!(component = %id, "guest over its time budget inside a host call");
            return Err(Failure::TimedOut);
        };
        match answered {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(error)) => {
                tracing::warn!(component = %id, %error, "guest answered with an error");
                Err(Failure::Failed)
            }
            Err(_) => {
                let error = match task.await {
                    Ok(Ok(())) => None,
                    Ok(Err(error)) => Some(error),
                    Err(join) => Some(wasmtime::Error::msg(join.to_string())),
                };
                let timed_out = error.as_ref().and_then(|e| e.downcast_ref::<Trap>()) == Some(&Trap::Interrupt);
                tracing::warn!(
                    component = %id,
                    error = %error.map_or_else(|| "guest never set a response".to_owned(), |e| format!("{e:#}")),
                    "guest failed"
                );
                Err(if timed_out { Failure::TimedOut } else { Failure::Failed })
            }
        }
    }
}
