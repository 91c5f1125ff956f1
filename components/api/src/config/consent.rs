//! The consent texts a user agrees to before a second factor processes their data (GDPR article 7): one per kind
//! of factor, the built-in wording unless `consent_text_totp` / `consent_text_sms` / `consent_text_webauthn` give
//! the operator's own. Each text's version is its kind and the first 12 hex digits of its SHA-256 (`totp-3f9a...`),
//! so any change of wording is a new version that users must agree to again, and a recorded version names exactly
//! one text.

use sha2::{Digest, Sha256};

use super::variables::Lookup;
use crate::model::FactorKind;

/// The built-in text for an authenticator app.
const TOTP_TEXT: &str = "I agree that this service creates a secret for my authenticator app, keeps it encrypted, and \
                         uses it to check the codes I enter when I sign in or confirm a change. I can withdraw this \
                         consent at any time; my authenticators are then removed.";

/// The built-in text for a phone receiving SMS codes.
const SMS_TEXT: &str = "I agree that this service keeps my phone number and sends it, with a one-time code, to its SMS \
                        provider Twilio (which may process it outside my country) each time a code is sent to me. I \
                        can withdraw this consent at any time; my phones are then removed.";

/// The built-in text for a passkey.
const WEBAUTHN_TEXT: &str = "I agree that this service keeps my passkey's public key, its id, the name I give it and \
                             what my device reports about it (its model, whether it is synced, its signature count), \
                             and uses them to check my sign-ins. No fingerprint, face or PIN leaves my device. I can \
                             withdraw this consent at any time; my passkeys are then removed.";

/// One consent text in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentText {
    /// The kind of factor it is for.
    pub kind: FactorKind,
    /// Its version: the kind and the first 12 hex digits of the text's SHA-256.
    pub version: String,
    /// The text's SHA-256, hex.
    pub sha256: String,
    /// The text.
    pub text: String,
}

impl ConsentText {
    fn new(kind: FactorKind, text: String) -> Self {
        let sha256 = data_encoding::HEXLOWER.encode(&Sha256::digest(text.as_bytes()));
        Self { kind, version: format!("{kind}-{}", &sha256[..12]), sha256, text }
    }
}

/// The text in force for factors of `kind`.
pub fn text(get: Lookup<'_>, kind: FactorKind) -> ConsentText {
    let (variable, built_in) = match kind {
        FactorKind::Totp => ("consent_text_totp", TOTP_TEXT),
        FactorKind::Sms => ("consent_text_sms", SMS_TEXT),
        FactorKind::Webauthn => ("consent_text_webauthn", WEBAUTHN_TEXT),
    };
    let own = get(variable).map(|text| text.trim().to_owned()).filter(|text| !text.is_empty());
    ConsentText::new(kind, own.unwrap_or_else(|| built_in.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    #[test]
    fn versions_name_the_exact_text() {
        let settings = Settings::from_pairs(&[]);
        let get = |name: &'static str| (settings.get)(name);
        let totp = text(&get, FactorKind::Totp);
        assert!(totp.version.starts_with("totp-") && totp.version.len() == 17, "{}", totp.version);
        assert!(totp.sha256.starts_with(&totp.version[5..]));
        assert_ne!(totp.version, text(&get, FactorKind::Sms).version.replace("sms", "totp"));
        let own = Settings::from_pairs(&[("consent_text_sms", " Our own wording. ")]);
        let own_get = |name: &'static str| (own.get)(name);
        let sms = text(&own_get, FactorKind::Sms);
        assert_eq!(sms.text, "Our own wording.");
        assert_ne!(sms.version, text(&get, FactorKind::Sms).version);
    }

    #[test]
    fn the_openapi_document_names_the_built_in_versions() {
        let settings = Settings::from_pairs(&[]);
        let get = |name: &'static str| (settings.get)(name);
        for kind in FactorKind::ALL {
            let version = text(&get, *kind).version;
            assert!(crate::routes::operations::OPENAPI.contains(&format!("\"{version}\"")), "{version}");
        }
    }
}
