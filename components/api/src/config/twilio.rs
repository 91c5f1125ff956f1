//! Twilio's account and sender, from the variables: `twilio_api_base` (Twilio's own API by default; spin.toml's
//! `allowed_outbound_hosts` takes it through a template), `twilio_account_sid`, `twilio_auth_token` (secret), or
//! `twilio_api_key_sid` + `twilio_api_key_secret` (secret), and the sender: `twilio_from` (a number) or
//! `twilio_messaging_service_sid`. Sending is [`crate::domain::mfa::twilio`].

use super::variables::Lookup;

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
pub struct TwilioSettings {
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

impl std::fmt::Debug for TwilioSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioSettings")
            .field("api_base", &self.api_base)
            .field("account_sid", &self.account_sid)
            .field("auth_user", &self.auth_user)
            .field("sender", &self.sender)
            .finish_non_exhaustive()
    }
}

/// The variables do not describe a usable Twilio account.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Twilio is not configured: {0}")]
pub struct TwilioError(pub &'static str);

fn variable(get: Lookup<'_>, name: &'static str) -> Option<String> {
    get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// The configuration the variables describe.
pub fn read(get: Lookup<'_>) -> Result<TwilioSettings, TwilioError> {
    let api_base = variable(get, "twilio_api_base").unwrap_or_else(|| DEFAULT_API_BASE.to_owned());
    let api_base = api_base.trim_end_matches('/').to_owned();
    if !(api_base.starts_with("https://") || api_base.starts_with("http://")) {
        return Err(TwilioError("twilio_api_base must be an http(s) URL"));
    }
    let account_sid = variable(get, "twilio_account_sid").ok_or(TwilioError("twilio_account_sid is not set"))?;
    if !account_sid.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(TwilioError("twilio_account_sid must be letters and digits"));
    }
    let (auth_user, auth_secret) = match variable(get, "twilio_api_key_sid") {
        Some(key_sid) => (
            key_sid,
            variable(get, "twilio_api_key_secret")
                .ok_or(TwilioError("twilio_api_key_sid needs twilio_api_key_secret"))?,
        ),
        None => (
            account_sid.clone(),
            variable(get, "twilio_auth_token").ok_or(TwilioError("twilio_auth_token is not set"))?,
        ),
    };
    let sender = match (variable(get, "twilio_messaging_service_sid"), variable(get, "twilio_from")) {
        (Some(service), _) => Sender::MessagingService(service),
        (None, Some(number)) => Sender::Number(number),
        (None, None) => return Err(TwilioError("set twilio_from or twilio_messaging_service_sid")),
    };
    Ok(TwilioSettings { api_base, account_sid, auth_user, auth_secret, sender })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    fn twilio(pairs: &[(&'static str, &str)]) -> Result<TwilioSettings, TwilioError> {
        Settings::from_pairs(pairs).twilio()
    }

    #[test]
    fn a_token_and_a_number_or_an_api_key_and_a_messaging_service() {
        let plain =
            twilio(&[("twilio_account_sid", "AC123"), ("twilio_auth_token", "token"), ("twilio_from", "+15005550006")])
                .unwrap();
        assert_eq!(plain.api_base, DEFAULT_API_BASE);
        assert_eq!((plain.auth_user.as_str(), plain.auth_secret.as_str()), ("AC123", "token"));
        assert_eq!(plain.sender, Sender::Number("+15005550006".into()));
        assert!(!format!("{plain:?}").contains("token"));
        let keyed = twilio(&[
            ("twilio_api_base", "http://127.0.0.1:9/"),
            ("twilio_account_sid", "AC1"),
            ("twilio_api_key_sid", "SK1"),
            ("twilio_api_key_secret", "secret"),
            ("twilio_messaging_service_sid", "MG1"),
        ])
        .unwrap();
        assert_eq!(keyed.api_base, "http://127.0.0.1:9");
        assert_eq!((keyed.auth_user.as_str(), keyed.auth_secret.as_str()), ("SK1", "secret"));
        assert_eq!(keyed.sender, Sender::MessagingService("MG1".into()));
    }

    #[test]
    fn missing_or_bad_variables_are_named() {
        assert_eq!(twilio(&[]), Err(TwilioError("twilio_account_sid is not set")));
        assert!(twilio(&[("twilio_account_sid", "AC1"), ("twilio_auth_token", "t")]).is_err());
        assert!(
            twilio(&[("twilio_account_sid", "AC1/../x"), ("twilio_auth_token", "t"), ("twilio_from", "+1")]).is_err()
        );
    }
}
