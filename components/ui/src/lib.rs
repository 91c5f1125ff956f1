//! The self-service web UI: a Spin HTTP component that serves the UI's files (HTML, one script, one stylesheet),
//! compiled into the component ([`assets`]), with the headers a page needs to be safe ([`answer`]). The pages talk
//! to the API (`/v1/...`, the `api` component of the same app) with the session cookie and the CSRF header, so
//! this component holds no state, reads no variable and makes no outbound call.
//!
//! Why plain HTML and one script with no framework and no build step: the UI is a handful of forms and lists, so
//! a framework would add more code (and a toolchain, and its updates) than the pages themselves; the script stays
//! readable as shipped, the CSP can forbid every inline script and style, and the component stays small (under
//! 200 KB), serving the same bytes under `spin up` and mfa-host. The browser suite (`tests/browser/journey.mjs`)
//! drives every flow in Chromium and checks each page with axe-core.

pub mod answer;
pub mod assets;

/// The `wasi:http/incoming-handler` export (Wasm only: native linkers cannot name it).
#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
mod entry {
    use spin_sdk::http::{Fields, IncomingRequest, Method, OutgoingResponse, ResponseOutparam};

    /// Answers a request for one of the UI's files.
    #[spin_sdk::http_component]
    async fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let method = match request.method() {
            Method::Get => "GET",
            Method::Head => "HEAD",
            _ => "OTHER",
        };
        let path = request.path_with_query().unwrap_or_else(|| "/".to_owned());
        let path = path.split('?').next().unwrap_or("/");
        let etag =
            request.headers().get("if-none-match").first().map(|value| String::from_utf8_lossy(value).into_owned());
        let reply = crate::answer::answer(method, path, etag.as_deref());
        let headers: Vec<(String, Vec<u8>)> =
            reply.headers.into_iter().map(|(name, value)| (name.to_owned(), value.into_bytes())).collect();
        let response = OutgoingResponse::new(Fields::from_list(&headers).unwrap_or_else(|_| Fields::new()));
        if response.set_status_code(reply.status).is_err() {
            let _ = response.set_status_code(500);
        }
        let body = if method == "HEAD" { Vec::new() } else { reply.body.to_vec() };
        if let Err(error) = out.set_with_body(response, body).await {
            eprintln!("ui: could not write a response body: {error:?}");
        }
    }
}
