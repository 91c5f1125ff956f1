//! Sending an SMS through Twilio's Messages API, in its real shape: `POST
//! {twilio_api_base}/2010-04-01/Accounts/{AccountSid}/Messages.json`, HTTP Basic auth (the Account SID and auth
//! token, or an API key SID and secret), a form-encoded `To`, `From` or `MessagingServiceSid`, and `Body`.
//!
//! Variables: `twilio_api_base` (Twilio's own API by default; spin.toml's `allowed_outbound_hosts` takes it through
//! a template), `twilio_account_sid`, `twilio_auth_token` (secret), or `twilio_api_key_sid` + `twilio_api_key_secret`
//! (secret), and the sender: `twilio_from` (a number) or `twilio_messaging_service_sid`.
//!
//! Twilio answering 429 or 5xx (or not answering) is retried at most [`ATTEMPTS`] times in all with exponential
//! backoff and full jitter, or after its `Retry-After` when that is sooner than [`MAX_WAIT_MS`]; then the send
//! fails as [`SendError::Unavailable`]. Twilio's "invalid number" errors (21211, 21614, and the other 212xx/216xx
//! recipient errors) are [`SendError::BadNumber`]. The message body (it holds the code) is never logged.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use spin_sdk::http::{Method, Request, Response};

use crate::config::Lookup;

/// Attempts per message, the first included.
pub const ATTEMPTS: u32 = 3;

/// The first retry waits up to this long (then doubling, with full jitter).
const BASE_WAIT_MS: u64 = 250;

/// The longest wait before a retry, also for a `Retry-After`: a longer one gives up at once.
pub const MAX_WAIT_MS: u64 = 4_000;

/// Twilio's API, when `twilio_api_base` is empty.
pub const DEFAULT_API_BASE: &str = "https://api.twilio.com";

/// Who the message is from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sender {
    /// A Twilio phone number (`From`).
    Number(String),
    /// A Messaging Service (`MessagingServiceSid`).
    MessagingService(String),
}

/// Twilio's configuration.
#[derive(Clone, PartialEq, Eq)]
pub struct Twilio {
    /// `https://api.twilio.com` or a stand-in.
    pub api_base: String,
    /// The account the message is sent on.
    pub account_sid: String,
    /// The Basic auth user: the Account SID or an API key SID.
    pub auth_user: String,
    /// The Basic auth password: the auth token or the API key's secret.
    pub auth_secret: String,
    /// The sender.
    pub sender: Sender,
}

impl std::fmt::Debug for Twilio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Twilio")
            .field("api_base", &self.api_base)
            .field("account_sid", &self.account_sid)
            .field("auth_user", &self.auth_user)
            .field("sender", &self.sender)
            .finish_non_exhaustive()
    }
}

/// Why a message was not sent.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SendError {
    /// The variables do not describe a usable Twilio account.
    #[error("Twilio is not configured: {0}")]
    NotConfigured(&'static str),
    /// Twilio refused the number (its error code).
    #[error("Twilio refused the number (error {0})")]
    BadNumber(u32),
    /// Twilio could not be reached or kept failing (after the retries).
    #[error("Twilio is unavailable: {0}")]
    Unavailable(String),
}

fn variable(get: Lookup<'_>, name: &'static str) -> Option<String> {
    get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

impl Twilio {
    /// The configuration from the variables.
    pub fn from_variables(get: Lookup<'_>) -> Result<Self, SendError> {
        let api_base = variable(get, "twilio_api_base").unwrap_or_else(|| DEFAULT_API_BASE.to_owned());
        let api_base = api_base.trim_end_matches('/').to_owned();
        if !(api_base.starts_with("https://") || api_base.starts_with("http://")) {
            return Err(SendError::NotConfigured("twilio_api_base must be an http(s) URL"));
        }
        let account_sid =
            variable(get, "twilio_account_sid").ok_or(SendError::NotConfigured("twilio_account_sid is not set"))?;
        if !account_sid.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(SendError::NotConfigured("twilio_account_sid must be letters and digits"));
        }
        let (auth_user, auth_secret) = match variable(get, "twilio_api_key_sid") {
            Some(key_sid) => (
                key_sid,
                variable(get, "twilio_api_key_secret")
                    .ok_or(SendError::NotConfigured("twilio_api_key_sid needs twilio_api_key_secret"))?,
            ),
            None => (
                account_sid.clone(),
                variable(get, "twilio_auth_token").ok_or(SendError::NotConfigured("twilio_auth_token is not set"))?,
            ),
        };
        let sender = match (variable(get, "twilio_messaging_service_sid"), variable(get, "twilio_from")) {
            (Some(service), _) => Sender::MessagingService(service),
            (None, Some(number)) => Sender::Number(number),
            (None, None) => {
                return Err(SendError::NotConfigured("set twilio_from or twilio_messaging_service_sid"));
            }
        };
        Ok(Self { api_base, account_sid, auth_user, auth_secret, sender })
    }

    /// The Messages resource URL.
    pub fn messages_url(&self) -> String {
        format!("{}/2010-04-01/Accounts/{}/Messages.json", self.api_base, self.account_sid)
    }

    /// The form body of a message.
    pub fn form(&self, to: &str, body: &str) -> String {
        let (name, value) = match &self.sender {
            Sender::Number(number) => ("From", number.as_str()),
            Sender::MessagingService(sid) => ("MessagingServiceSid", sid.as_str()),
        };
        format!("To={}&{name}={}&Body={}", form_encode(to), form_encode(value), form_encode(body))
    }

    fn authorization(&self) -> String {
        format!("Basic {}", STANDARD.encode(format!("{}:{}", self.auth_user, self.auth_secret)))
    }

    /// Sends `body` to `to` (E.164), retrying as the module says; the message's SID on success.
    pub fn send(&self, to: &str, body: &str) -> Result<String, SendError> {
        let form = self.form(to, body);
        let mut last = String::new();
        for attempt in 0..ATTEMPTS {
            let wait = match self.attempt(&form) {
                Attempt::Sent(sid) => return Ok(sid),
                Attempt::Refused(error) => return Err(error),
                Attempt::Retry { reason, retry_after_ms } => {
                    last = reason;
                    match retry_after_ms {
                        Some(ms) if ms > MAX_WAIT_MS => break,
                        Some(ms) => ms,
                        None => jittered(attempt),
                    }
                }
            };
            if attempt + 1 < ATTEMPTS {
                std::thread::sleep(std::time::Duration::from_millis(wait));
            }
        }
        Err(SendError::Unavailable(last))
    }

    fn attempt(&self, form: &str) -> Attempt {
        let request = Request::builder()
            .method(Method::Post)
            .uri(self.messages_url())
            .header("authorization", self.authorization())
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(form.as_bytes().to_vec())
            .build();
        let response: Response = match spin_executor::run(spin_sdk::http::send(request)) {
            Ok(response) => response,
            Err(error) => return Attempt::Retry { reason: format!("no answer: {error}"), retry_after_ms: None },
        };
        let status = *response.status();
        let retry_after_ms = response
            .header("retry-after")
            .and_then(|value| value.as_str())
            .and_then(|value| value.trim().parse::<u64>().ok())
            .map(|seconds| seconds.saturating_mul(1_000));
        classify(status, response.body(), retry_after_ms)
    }
}

/// What one attempt came to.
#[derive(Debug, PartialEq, Eq)]
enum Attempt {
    Sent(String),
    Refused(SendError),
    Retry { reason: String, retry_after_ms: Option<u64> },
}

/// Reads Twilio's answer.
fn classify(status: u16, body: &[u8], retry_after_ms: Option<u64>) -> Attempt {
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    match status {
        200..=299 => Attempt::Sent(json.get("sid").and_then(|sid| sid.as_str()).unwrap_or_default().to_owned()),
        429 | 500..=599 => Attempt::Retry { reason: format!("HTTP {status}"), retry_after_ms },
        _ => {
            let code =
                json.get("code").and_then(serde_json::Value::as_u64).and_then(|c| u32::try_from(c).ok()).unwrap_or(0);
            if is_bad_number(code) {
                Attempt::Refused(SendError::BadNumber(code))
            } else {
                Attempt::Refused(SendError::Unavailable(format!("HTTP {status}, Twilio error {code}")))
            }
        }
    }
}

/// Twilio's errors that mean the recipient number cannot get the message: 21211 (invalid `To`), 21214 (not
/// reachable), 21217 (not a valid number), 21407/21408 (region not supported or not enabled), 21610 (unsubscribed),
/// 21612/21614 (not reachable, not a mobile number).
fn is_bad_number(code: u32) -> bool {
    matches!(code, 21211 | 21214 | 21217 | 21407 | 21408 | 21610 | 21612 | 21614)
}

/// The wait before retry `attempt` + 1: uniform in 0..=BASE·2^attempt ms ("full jitter"), at most [`MAX_WAIT_MS`].
fn jittered(attempt: u32) -> u64 {
    let ceiling = BASE_WAIT_MS.saturating_mul(1u64 << attempt.min(16)).min(MAX_WAIT_MS);
    use rand::{Rng as _, SeedableRng as _};
    rand::rngs::StdRng::from_os_rng().random_range(0..=ceiling)
}

/// `application/x-www-form-urlencoded` encoding of one value.
fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => out.push(char::from(byte)),
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_variables as with;

    #[test]
    fn the_form_is_twilios_shape() {
        let twilio = Twilio::from_variables(&with(&[
            ("twilio_account_sid", "AC123"),
            ("twilio_auth_token", "token"),
            ("twilio_from", "+15005550006"),
        ]))
        .unwrap();
        assert_eq!(twilio.messages_url(), "https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json");
        assert_eq!(
            twilio.form("+447700900123", "Code: 12 34"),
            "To=%2B447700900123&From=%2B15005550006&Body=Code%3A+12+34"
        );
        assert_eq!((twilio.auth_user.as_str(), twilio.auth_secret.as_str()), ("AC123", "token"));
        assert!(!format!("{twilio:?}").contains("token"));
    }

    #[test]
    fn an_api_key_and_a_messaging_service_replace_the_token_and_number() {
        let twilio = Twilio::from_variables(&with(&[
            ("twilio_api_base", "http://127.0.0.1:9/"),
            ("twilio_account_sid", "AC1"),
            ("twilio_api_key_sid", "SK1"),
            ("twilio_api_key_secret", "secret"),
            ("twilio_messaging_service_sid", "MG1"),
        ]))
        .unwrap();
        assert_eq!(twilio.messages_url(), "http://127.0.0.1:9/2010-04-01/Accounts/AC1/Messages.json");
        assert_eq!((twilio.auth_user.as_str(), twilio.auth_secret.as_str()), ("SK1", "secret"));
        assert!(twilio.form("+1", "x").contains("&MessagingServiceSid=MG1&"));
    }

    #[test]
    fn missing_or_bad_variables_are_named() {
        assert_eq!(Twilio::from_variables(&with(&[])), Err(SendError::NotConfigured("twilio_account_sid is not set")));
        let no_sender = [("twilio_account_sid", "AC1"), ("twilio_auth_token", "t")];
        assert!(matches!(Twilio::from_variables(&with(&no_sender)), Err(SendError::NotConfigured(_))));
        let bad_sid = [("twilio_account_sid", "AC1/../x"), ("twilio_auth_token", "t"), ("twilio_from", "+1")];
        assert!(matches!(Twilio::from_variables(&with(&bad_sid)), Err(SendError::NotConfigured(_))));
    }

    #[test]
    fn answers_are_classified() {
        assert_eq!(classify(201, br#"{"sid":"SM1"}"#, None), Attempt::Sent("SM1".into()));
        assert!(matches!(classify(429, b"", Some(1000)), Attempt::Retry { retry_after_ms: Some(1000), .. }));
        assert!(matches!(classify(503, b"", None), Attempt::Retry { retry_after_ms: None, .. }));
        assert_eq!(classify(400, br#"{"code":21211}"#, None), Attempt::Refused(SendError::BadNumber(21211)));
        assert_eq!(classify(400, br#"{"code":21614}"#, None), Attempt::Refused(SendError::BadNumber(21614)));
        assert!(matches!(classify(401, br#"{"code":20003}"#, None), Attempt::Refused(SendError::Unavailable(_))));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        for _ in 0..100 {
            assert!(jittered(0) <= BASE_WAIT_MS);
            assert!(jittered(1) <= 2 * BASE_WAIT_MS);
            assert!(jittered(30) <= MAX_WAIT_MS);
        }
    }
}
