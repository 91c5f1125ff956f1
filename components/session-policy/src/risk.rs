//! Risk signals for a login and client-IP grouping for rate limits (`mfa:session/risk`).
//!
//! Addresses are parsed strictly with [`std::net`]: no port, brackets or zone. An IPv4-mapped IPv6 address
//! (`::ffff:192.0.2.1`) counts as its IPv4 form; other IPv6 addresses are grouped by their /64, the smallest block
//! one subscriber usually gets.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use subtle::ConstantTimeEq as _;

/// Something unusual about a login (WIT `risk-signal`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RiskSignal {
    /// No device cookie, or one this user never logged in with.
    NewDevice,
    /// An address (IPv6: a /64) none of the user's known devices used.
    NewIp,
    /// A known device whose browser or system changed (version numbers ignored).
    UserAgentChanged,
    /// A country none of the user's known devices signed in from.
    NewCountry,
}

/// What is known of the login being assessed (WIT `login-context`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginContext {
    /// The device id from the device cookie, if any.
    pub device_id: Option<String>,
    /// The client IP address.
    pub ip: String,
    /// The User-Agent header, as sent.
    pub user_agent: String,
    /// The client's country (ISO 3166-1 alpha-2), when a trusted proxy said it.
    pub country: Option<String>,
}

/// A device the user logged in with before (WIT `known-device`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownDevice {
    /// Its device id.
    pub device_id: String,
    /// Addresses it logged in from (malformed ones are ignored).
    pub ips: Vec<String>,
    /// The User-Agent it last sent.
    pub user_agent: String,
    /// Countries it signed in from.
    pub countries: Vec<String>,
}

/// Why a text is not an IP address (WIT `ip-error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IpError {
    /// Not an IPv4 or IPv6 address (a port, brackets or a zone are not accepted).
    #[error("not an IPv4 or IPv6 address")]
    Invalid,
}

/// The network an address is counted under: an IPv4 address, or an IPv6 /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Network {
    /// An IPv4 address (also from an IPv4-mapped IPv6 address).
    V4(Ipv4Addr),
    /// An IPv6 address with all but its first 64 bits cleared.
    V6(Ipv6Addr),
}

impl Network {
    /// The network of `text`, a bare IPv4 or IPv6 address.
    fn parse(text: &str) -> Result<Self, IpError> {
        match text.parse::<IpAddr>().map_err(|_| IpError::Invalid)? {
            IpAddr::V4(v4) => Ok(Self::V4(v4)),
            IpAddr::V6(v6) => Ok(match v6.to_ipv4_mapped() {
                Some(v4) => Self::V4(v4),
                None => Self::V6(Ipv6Addr::from_bits(v6.to_bits() & !u128::from(u64::MAX))),
            }),
        }
    }

    /// Its rate-limit key: `192.0.2.1`, or `2001:db8:1:2::/64`.
    fn key(self) -> String {
        match self {
            Self::V4(v4) => v4.to_string(),
            Self::V6(prefix) => format!("{prefix}/64"),
        }
    }
}

/// The key to count `ip` under for rate limits: IPv4 as is, IPv6 as its /64 (`2001:db8:1:2::/64`), an IPv4-mapped
/// IPv6 address as its IPv4 form.
pub fn rate_limit_key(ip: &str) -> Result<String, IpError> {
    Network::parse(ip).map(Network::key)
}

/// The signals that apply to `login`, in the order new-device, new-ip, user-agent-changed, new-country.
///
/// - new-device: no device id, or none of `known` has it;
/// - new-ip: the login's network (IPv6: its /64) matches no valid address of any known device;
/// - user-agent-changed: the device is known and its user agent differs from the login's once version numbers
///   (runs of digits, dots and underscores that hold a digit) are removed, whitespace is collapsed and case is
///   ignored;
/// - new-country: the login's country is known and none of `known` signed in from it (case ignored).
///
/// Fails only when the login's own address is not an IP address.
pub fn assess_login(login: &LoginContext, known: &[KnownDevice]) -> Result<Vec<RiskSignal>, IpError> {
    let network = Network::parse(&login.ip)?;
    let device = login.device_id.as_deref().and_then(|id| find_device(known, id));

    let mut signals = Vec::new();
    if device.is_none() {
        signals.push(RiskSignal::NewDevice);
    }
    let seen = known
        .iter()
        .flat_map(|device| device.ips.iter())
        .filter_map(|ip| Network::parse(ip).ok())
        .any(|known_network| known_network == network);
    if !seen {
        signals.push(RiskSignal::NewIp);
    }
    if let Some(device) = device
        && normalize_user_agent(&device.user_agent) != normalize_user_agent(&login.user_agent)
    {
        signals.push(RiskSignal::UserAgentChanged);
    }
    if let Some(country) = login.country.as_deref().map(str::trim).filter(|country| !country.is_empty())
        && !known.iter().flat_map(|device| device.countries.iter()).any(|seen| seen.eq_ignore_ascii_case(country))
    {
        signals.push(RiskSignal::NewCountry);
    }
    Ok(signals)
}

/// The known device with id `id`. Device ids are bearer secrets, so each is compared in constant time and every
/// entry is looked at.
fn find_device<'a>(known: &'a [KnownDevice], id: &str) -> Option<&'a KnownDevice> {
    known.iter().fold(None, |found, device| {
        let matches = bool::from(device.device_id.as_bytes().ct_eq(id.as_bytes()));
        if matches && found.is_none() { Some(device) } else { found }
    })
}

/// `user_agent` with version numbers removed (every run of digits, `.` and `_` that contains a digit, so
/// `Chrome/120.0.6099.71` and `Mac OS X 10_15_7` lose their versions), whitespace collapsed to single spaces and
/// trimmed, and lower-cased.
fn normalize_user_agent(user_agent: &str) -> String {
    let is_version_char = |c: char| c.is_ascii_digit() || c == '.' || c == '_';
    let mut stripped = String::with_capacity(user_agent.len());
    let mut run = String::new();
    for c in user_agent.chars() {
        if is_version_char(c) {
            run.push(c);
            continue;
        }
        if !run.chars().any(|r| r.is_ascii_digit()) {
            stripped.push_str(&run);
        }
        run.clear();
        stripped.push(c);
    }
    if !run.chars().any(|r| r.is_ascii_digit()) {
        stripped.push_str(&run);
    }
    stripped.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const FIREFOX_128: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
    const FIREFOX_131: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0";
    const CHROME: &str =
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

    fn device(id: &str, ips: &[&str], user_agent: &str) -> KnownDevice {
        KnownDevice {
            device_id: id.to_owned(),
            ips: ips.iter().map(|ip| (*ip).to_owned()).collect(),
            user_agent: user_agent.to_owned(),
            countries: Vec::new(),
        }
    }

    fn login(device_id: Option<&str>, ip: &str, user_agent: &str) -> LoginContext {
        LoginContext {
            device_id: device_id.map(str::to_owned),
            ip: ip.to_owned(),
            user_agent: user_agent.to_owned(),
            country: None,
        }
    }

    #[test]
    fn a_country_no_known_device_signed_in_from_is_new() {
        let mut known = device("d1", &["192.0.2.1"], FIREFOX_128);
        known.countries = vec!["DE".to_owned(), "AT".to_owned()];
        let from = |country: Option<&str>| LoginContext {
            country: country.map(str::to_owned),
            ..login(Some("d1"), "192.0.2.1", FIREFOX_128)
        };
        assert_eq!(assess_login(&from(Some("FR")), std::slice::from_ref(&known)), Ok(vec![RiskSignal::NewCountry]));
        assert_eq!(assess_login(&from(Some("de")), std::slice::from_ref(&known)), Ok(vec![]));
        // Unknown (no trusted proxy said it): no signal either way.
        assert_eq!(assess_login(&from(None), std::slice::from_ref(&known)), Ok(vec![]));
        assert_eq!(assess_login(&from(Some(" ")), std::slice::from_ref(&known)), Ok(vec![]));
        // A first login with a country: every signal that applies, in order.
        assert_eq!(
            assess_login(
                &LoginContext { country: Some("FR".to_owned()), ..login(None, "192.0.2.1", FIREFOX_128) },
                &[]
            ),
            Ok(vec![RiskSignal::NewDevice, RiskSignal::NewIp, RiskSignal::NewCountry])
        );
    }

    #[test]
    fn rate_limit_keys() {
        assert_eq!(rate_limit_key("192.0.2.1").as_deref(), Ok("192.0.2.1"));
        assert_eq!(rate_limit_key("2001:db8:1:2:3:4:5:6").as_deref(), Ok("2001:db8:1:2::/64"));
        assert_eq!(rate_limit_key("2001:0DB8:0001:0002:ffff:ffff:ffff:ffff").as_deref(), Ok("2001:db8:1:2::/64"));
        assert_eq!(rate_limit_key("::1").as_deref(), Ok("::/64"));
        assert_eq!(rate_limit_key("fe80::1").as_deref(), Ok("fe80::/64"));
        assert_eq!(rate_limit_key("::ffff:192.0.2.1").as_deref(), Ok("192.0.2.1"));
        assert_eq!(rate_limit_key("::ffff:c000:201").as_deref(), Ok("192.0.2.1"));
        // IPv4-compatible (deprecated) addresses are plain IPv6.
        assert_eq!(rate_limit_key("::192.0.2.1").as_deref(), Ok("::/64"));
    }

    #[test]
    fn rate_limit_key_refuses_anything_but_a_bare_address() {
        for bad in [
            "",
            " 192.0.2.1",
            "192.0.2.1 ",
            "192.0.2.1:443",
            "192.0.2",
            "192.0.2.256",
            "[2001:db8::1]",
            "[2001:db8::1]:443",
            "fe80::1%eth0",
            "fe80::1%1",
            "2001:db8::1/64",
            "localhost",
            "2001:db8:::1",
        ] {
            assert_eq!(rate_limit_key(bad), Err(IpError::Invalid), "{bad:?}");
        }
    }

    #[test]
    fn first_login_is_new_device_and_new_ip() {
        assert_eq!(
            assess_login(&login(None, "192.0.2.1", CHROME), &[]),
            Ok(vec![RiskSignal::NewDevice, RiskSignal::NewIp])
        );
    }

    #[test]
    fn known_device_same_ip_same_agent_is_quiet() {
        let known = [device("dev-a", &["192.0.2.1"], CHROME)];
        assert_eq!(assess_login(&login(Some("dev-a"), "192.0.2.1", CHROME), &known), Ok(vec![]));
    }

    #[test]
    fn unknown_device_from_a_known_address() {
        let known = [device("dev-a", &["192.0.2.1"], CHROME)];
        assert_eq!(assess_login(&login(Some("dev-b"), "192.0.2.1", CHROME), &known), Ok(vec![RiskSignal::NewDevice]));
        assert_eq!(assess_login(&login(None, "192.0.2.1", FIREFOX_128), &known), Ok(vec![RiskSignal::NewDevice]));
    }

    #[test]
    fn known_device_from_an_address_another_device_used() {
        let known =
            [device("dev-a", &["192.0.2.1"], CHROME), device("dev-b", &["198.51.100.7", "not an ip"], FIREFOX_128)];
        assert_eq!(assess_login(&login(Some("dev-a"), "198.51.100.7", CHROME), &known), Ok(vec![]));
        assert_eq!(assess_login(&login(Some("dev-a"), "198.51.100.8", CHROME), &known), Ok(vec![RiskSignal::NewIp]));
    }

    #[test]
    fn all_three_signals_cannot_coexist_but_two_can() {
        let known = [device("dev-a", &["192.0.2.1"], FIREFOX_128)];
        assert_eq!(
            assess_login(&login(Some("dev-a"), "203.0.113.9", CHROME), &known),
            Ok(vec![RiskSignal::NewIp, RiskSignal::UserAgentChanged])
        );
        assert_eq!(
            assess_login(&login(Some("dev-x"), "203.0.113.9", CHROME), &known),
            Ok(vec![RiskSignal::NewDevice, RiskSignal::NewIp])
        );
    }

    #[test]
    fn ipv6_is_compared_by_64() {
        let known = [device("dev-a", &["2001:db8:1:2::10"], CHROME)];
        assert_eq!(assess_login(&login(Some("dev-a"), "2001:db8:1:2:abcd::99", CHROME), &known), Ok(vec![]));
        assert_eq!(
            assess_login(&login(Some("dev-a"), "2001:db8:1:3::10", CHROME), &known),
            Ok(vec![RiskSignal::NewIp])
        );
    }

    #[test]
    fn ipv4_mapped_matches_ipv4() {
        let known = [device("dev-a", &["::ffff:192.0.2.1"], CHROME)];
        assert_eq!(assess_login(&login(Some("dev-a"), "192.0.2.1", CHROME), &known), Ok(vec![]));
        let known = [device("dev-a", &["192.0.2.1"], CHROME)];
        assert_eq!(assess_login(&login(Some("dev-a"), "::ffff:192.0.2.1", CHROME), &known), Ok(vec![]));
    }

    #[test]
    fn user_agent_versions_case_and_spacing_are_ignored() {
        let known = [device("dev-a", &["192.0.2.1"], FIREFOX_128)];
        assert_eq!(assess_login(&login(Some("dev-a"), "192.0.2.1", FIREFOX_131), &known), Ok(vec![]));
        let shouted = "  MOZILLA/5.0 (X11;   Linux x86_64; rv:131.0)\tGecko/20100101 FIREFOX/131.0 ";
        assert_eq!(assess_login(&login(Some("dev-a"), "192.0.2.1", shouted), &known), Ok(vec![]));
        let mac_old = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Safari/605.1.15";
        let mac_new = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) Safari/617.1";
        let known = [device("dev-a", &["192.0.2.1"], mac_old)];
        assert_eq!(assess_login(&login(Some("dev-a"), "192.0.2.1", mac_new), &known), Ok(vec![]));
    }

    #[test]
    fn user_agent_change_only_for_a_known_device() {
        let known = [device("dev-a", &["192.0.2.1"], FIREFOX_128)];
        assert_eq!(
            assess_login(&login(Some("dev-a"), "192.0.2.1", CHROME), &known),
            Ok(vec![RiskSignal::UserAgentChanged])
        );
        assert_eq!(
            assess_login(&login(Some("dev-a"), "192.0.2.1", ""), &known),
            Ok(vec![RiskSignal::UserAgentChanged])
        );
    }

    #[test]
    fn device_ids_must_match_exactly() {
        let known = [device("dev-a", &["192.0.2.1"], CHROME)];
        for other in ["dev-A", "dev-a ", "dev-", "", "dev-ab"] {
            assert_eq!(
                assess_login(&login(Some(other), "192.0.2.1", CHROME), &known),
                Ok(vec![RiskSignal::NewDevice]),
                "{other:?}"
            );
        }
    }

    #[test]
    fn the_first_device_with_the_id_is_used() {
        let known = [device("dev-a", &["192.0.2.1"], CHROME), device("dev-a", &["192.0.2.1"], FIREFOX_128)];
        assert_eq!(assess_login(&login(Some("dev-a"), "192.0.2.1", CHROME), &known), Ok(vec![]));
    }

    #[test]
    fn an_invalid_login_address_is_an_error() {
        assert_eq!(assess_login(&login(None, "192.0.2.1:80", CHROME), &[]), Err(IpError::Invalid));
    }

    #[test]
    fn normalization() {
        assert_eq!(normalize_user_agent(FIREFOX_128), "mozilla/ (x; linux x; rv:) gecko/ firefox/");
        assert_eq!(normalize_user_agent("a..b 1.2 c_d"), "a..b c_d");
        assert_eq!(normalize_user_agent("v1"), "v");
        assert_eq!(normalize_user_agent(" \t "), "");
        assert_eq!(normalize_user_agent("ÉCLAIR 2"), "éclair");
    }

    proptest! {
        #[test]
        fn rate_limit_key_never_panics(text in any::<String>()) {
            let _ = rate_limit_key(&text);
        }

        #[test]
        fn rate_limit_key_never_panics_on_address_like_text(text in "[0-9a-fA-F:.%\\[\\]]{0,45}") {
            if let Ok(key) = rate_limit_key(&text) {
                // A key is itself stable: an IPv4 key maps to itself.
                if !key.ends_with("/64") {
                    prop_assert_eq!(rate_limit_key(&key), Ok(key.clone()));
                }
            }
        }

        #[test]
        fn every_ipv6_in_a_64_shares_its_key(prefix in any::<u64>(), a in any::<u64>(), b in any::<u64>()) {
            let first = Ipv6Addr::from_bits((u128::from(prefix) << 64) | u128::from(a));
            let second = Ipv6Addr::from_bits((u128::from(prefix) << 64) | u128::from(b));
            prop_assume!(first.to_ipv4_mapped().is_none() && second.to_ipv4_mapped().is_none());
            prop_assert_eq!(rate_limit_key(&first.to_string()), rate_limit_key(&second.to_string()));
        }

        #[test]
        fn assess_login_never_panics(
            device_id in proptest::option::of("[a-c]{0,2}"),
            ip in any::<String>(),
            user_agent in any::<String>(),
            known in proptest::collection::vec(
                ("[a-c]{0,2}", proptest::collection::vec(any::<String>(), 0..3), any::<String>()),
                0..4,
            ),
        ) {
            let known: Vec<KnownDevice> = known
                .into_iter()
                .map(|(device_id, ips, user_agent)| KnownDevice { device_id, ips, user_agent, countries: Vec::new() })
                .collect();
            let login = LoginContext { device_id, ip, user_agent, country: None };
            let _ = assess_login(&login, &known);
        }
    }
}
