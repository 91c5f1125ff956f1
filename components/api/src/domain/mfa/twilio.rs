//! Sending an SMS through Twilio's Messages API, in its real shape: `POST
//! {twilio_api_base}/2010-04-01/Accounts/{AccountSid}/Messages.json`, HTTP Basic auth (the Account SID and auth
//! token, or an API key SID and secret), a form-encoded `To`, `From` or `MessagingServiceSid`, and `Body`.
//!
//! The account and sender come from the variables ([`crate::config::twilio`]).
//!
//! Twilio answering 429 or 5xx (or not answering) is retried at most [`ATTEMPTS`] times in all with exponential
//! backoff and full jitter, or after its `Retry-After` when that is sooner than [`MAX_WAIT_MS`]; then the send
//! fails as [`SendError::Unavailable`]. Twilio's "invalid number" errors (21211, 21614, and the other 212xx/216xx
//! recipient errors) are [`SendError::BadNumber`]. The message body (it holds the code) is never logged.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use spin_sdk::http::{Method, Request, Response};

use crate::config::twilio::{Sender, TwilioSettings};

/// Attempts per message, the first included.
pub const ATTEMPTS: u32 = 3;

/// The first retry waits up to this long (then doubling, with full jitter).
const BASE_WAIT_MS: u64 = 250;

/// The longest wait before a retry, also for a `Retry-After`: a longer one gives up at once.
pub const MAX_WAIT_MS: u64 = 4_000;

/// Twilio, as configured.
pub struct Twilio {
    settings: TwilioSettings,
}

/// Why a message was not sent.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SendError {
    /// Twilio refused the number (its error code).
    #[error("Twilio refused the number (error {0})")]
    BadNumber(u32),
    /// Twilio could not be reached or kept failing (after the retries).
    #[error("Twilio is unavailable: {0}")]
    Unavailable(String),
}

impl Twilio {
    /// Twilio with `settings`.
    pub fn new(settings: TwilioSettings) -> Self {
        Self { settings }
    }

    /// The Messages resource URL.
    pub fn messages_url(&self) -> String {
        format!("{}/2010-04-01/Accounts/{}/Messages.json", self.settings.api_base, self.settings.account_sid)
    }

    /// The form body of a message.
    pub fn form(&self, to: &str, body: &str) -> String {
        let (name, value) = match &self.settings.sender {
            Sender::Number(number) => ("From", number.as_str()),
            Sender::MessagingService(sid) => ("MessagingServiceSid", sid.as_str()),
        };
        format!("To={}&{name}={}&Body={}", form_encode(to), form_encode(value), form_encode(body))
    }

    fn authorization(&self) -> String {
        format!("Basic {}", STANDARD.encode(format!("{}:{}", self.settings.auth_user, self.settings.auth_secret)))
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

    #[test]
    fn the_form_is_twilios_shape() {
        let twilio = Twilio::new(TwilioSettings {
            api_base: "https://api.twilio.com".into(),
            account_sid: "AC123".into(),
            auth_user: "AC123".into(),
            auth_secret: "token".into(),
            sender: Sender::Number("+15005550006".into()),
        });
        assert_eq!(twilio.messages_url(), "https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json");
        assert_eq!(
            twilio.form("+447700900123", "Code: 12 34"),
            "To=%2B447700900123&From=%2B15005550006&Body=Code%3A+12+34"
        );
        assert_eq!(twilio.authorization(), "Basic QUMxMjM6dG9rZW4=");
        let service = Twilio::new(TwilioSettings { sender: Sender::MessagingService("MG1".into()), ..twilio.settings });
        assert!(service.form("+1", "x").contains("&MessagingServiceSid=MG1&"));
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
