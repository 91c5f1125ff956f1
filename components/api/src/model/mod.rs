//! The service's vocabulary: the words every layer speaks (what happened, how a user proved who they are, which
//! kind of second factor, which risk signal, where a client is), each an enum with the one spelling the API, the
//! database and the
//! event trail use. No behaviour and no I/O: the store persists these words and the domain decides with them, so
//! they sit below both.

pub mod event_kind;
pub mod location;
pub mod vocabulary;

pub use self::event_kind::EventKind;
pub use self::location::Location;
use self::vocabulary::vocabulary;

vocabulary! {
    /// How a session's user last proved who they are.
    AuthMethod {
        /// The password alone (aal 1).
        Password = "password",
        /// A code from an authenticator app.
        Totp = "totp",
        /// A code sent by SMS.
        Sms = "sms",
        /// A backup code.
        BackupCode = "backup_code",
        /// A passkey, as the second factor after the password.
        Webauthn = "webauthn",
        /// A passkey alone (passwordless: possession and user verification in one, aal 2).
        Passkey = "passkey",
        /// A device the user trusted at an earlier second-factor verification (no re-verification now).
        TrustedDevice = "trusted_device",
        /// The product's own first factor: its backend signed the user in through the service API (aal 1).
        External = "external",
    }
}

vocabulary! {
    /// A second-factor method a login challenge or step-up can be verified with.
    SecondFactor {
        /// A code from an authenticator app.
        Totp = "totp",
        /// A code sent by SMS.
        Sms = "sms",
        /// A backup code.
        BackupCode = "backup_code",
        /// A passkey's assertion.
        Webauthn = "webauthn",
    }
}

impl SecondFactor {
    /// The session method a verification with this factor gives.
    pub fn auth_method(self) -> AuthMethod {
        match self {
            Self::Totp => AuthMethod::Totp,
            Self::Sms => AuthMethod::Sms,
            Self::BackupCode => AuthMethod::BackupCode,
            Self::Webauthn => AuthMethod::Webauthn,
        }
    }
}

vocabulary! {
    /// A kind of enrolled second factor (a row of `mfa_configurations`).
    FactorKind {
        /// An authenticator app.
        Totp = "totp",
        /// A phone receiving SMS codes.
        Sms = "sms",
        /// A passkey (WebAuthn credential).
        Webauthn = "webauthn",
    }
}

vocabulary! {
    /// A login risk signal (session-policy's assessment against the user's known devices).
    RiskSignal {
        /// The device cookie never logged in to this account.
        NewDevice = "new_device",
        /// The address never logged in to this account.
        NewIp = "new_ip",
        /// The device's user agent changed since its last login.
        UserAgentChanged = "user_agent_changed",
        /// A country (as a trusted proxy said it) none of the user's devices signed in from.
        NewCountry = "new_country",
    }
}

/// Risk signals as one column value (`new_device,new_ip`; empty: none).
pub fn join_signals(signals: &[RiskSignal]) -> String {
    signals.iter().map(|signal| signal.as_str()).collect::<Vec<_>>().join(",")
}

/// The risk signals of a column value (unknown words are skipped).
pub fn split_signals(text: &str) -> Vec<RiskSignal> {
    text.split(',').filter_map(RiskSignal::parse).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_parses_back() {
        for method in AuthMethod::ALL {
            assert_eq!(AuthMethod::parse(method.as_str()), Some(*method));
        }
        for factor in SecondFactor::ALL {
            assert_eq!(SecondFactor::parse(factor.as_str()), Some(*factor));
            assert_eq!(factor.auth_method().as_str(), factor.as_str());
        }
        assert_eq!(FactorKind::parse("sms"), Some(FactorKind::Sms));
        assert_eq!(AuthMethod::parse("webauthn"), Some(AuthMethod::Webauthn));
        assert_eq!(AuthMethod::parse("u2f"), None);
    }

    #[test]
    fn signals_round_trip_through_one_column() {
        let signals = [RiskSignal::NewDevice, RiskSignal::UserAgentChanged];
        assert_eq!(join_signals(&signals), "new_device,user_agent_changed");
        assert_eq!(split_signals("new_device,user_agent_changed"), signals);
        assert_eq!(split_signals(""), []);
        assert_eq!(serde_json::to_string(&RiskSignal::NewIp).unwrap(), "\"new_ip\"");
    }
}
