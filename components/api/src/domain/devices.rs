//! The devices a user logged in with ([`crate::store::devices`]): the addresses and countries each came from
//! (newest first, at most [`MAX_IPS`] each), its last user agent and a readable label. They feed session-policy's
//! login risk signals (new device, new IP, user agent changed, new country) and exempt a device that already logged in
//! to an account from that
//! account's password limit.

use super::context::Client;
use crate::bindings::mfa::session::risk::KnownDevice;
use crate::store::devices::{self, Seen};
use crate::store::sql::{Db, DbError};

/// Addresses (and countries) kept per device.
pub const MAX_IPS: usize = 10;

/// A short human label for a user agent: "Firefox on Linux", "Safari on iOS", "curl", ...
pub fn label(user_agent: &str) -> String {
    let ua = user_agent.to_ascii_lowercase();
    let first = |pairs: &[(&str, &'static str)]| pairs.iter().find(|(needle, _)| ua.contains(needle)).map(|p| p.1);
    let browser = first(&[
        ("edg/", "Edge"),
        ("opr/", "Opera"),
        ("firefox/", "Firefox"),
        ("chrome/", "Chrome"),
        ("chromium/", "Chromium"),
        ("safari/", "Safari"),
        ("curl/", "curl"),
        ("okhttp", "OkHttp"),
        ("python-requests", "Python"),
    ]);
    let system = first(&[
        ("iphone", "iOS"),
        ("ipad", "iOS"),
        ("android", "Android"),
        ("windows", "Windows"),
        ("mac os x", "macOS"),
        ("cros", "ChromeOS"),
        ("linux", "Linux"),
    ]);
    match (browser, system) {
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
        (Some(name), None) | (None, Some(name)) => name.to_owned(),
        (None, None) if user_agent.trim().is_empty() => "Unknown device".to_owned(),
        (None, None) => user_agent.split(['/', ' ']).next().unwrap_or("Unknown device").chars().take(40).collect(),
    }
}

/// Records a login of `user_id` from `device_hash` by `client`, given the user's `known` devices: its address
/// first, then the device's earlier ones (at most [`MAX_IPS`]); the same for its country, when known.
pub fn remember(
    db: &Db,
    known: &[KnownDevice],
    user_id: &str,
    device_hash: &str,
    client: &Client,
    now: i64,
) -> Result<(), DbError> {
    let device = known.iter().find(|device| device.device_id == device_hash);
    let ips = newest_first(&client.ip_text(), device.map(|device| device.ips.as_slice()).unwrap_or_default());
    let countries =
        newest_first(&client.location.country, device.map(|device| device.countries.as_slice()).unwrap_or_default());
    let label = label(&client.user_agent);
    let seen =
        Seen { user_id, device_hash, label: &label, ips: &ips, countries: &countries, user_agent: &client.user_agent };
    devices::remember(db, &seen, now)
}

/// `latest` (if not empty) then the `earlier` values that differ from it, at most [`MAX_IPS`] in all.
fn newest_first(latest: &str, earlier: &[String]) -> Vec<String> {
    let mut values: Vec<String> = std::iter::once(latest.to_owned())
        .chain(earlier.iter().filter(|value| *value != latest).cloned())
        .filter(|value| !value.is_empty())
        .collect();
    values.truncate(MAX_IPS);
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_value_comes_first_once() {
        let earlier = ["b".to_owned(), "a".to_owned(), "c".to_owned()];
        assert_eq!(newest_first("a", &earlier), ["a", "b", "c"]);
        assert_eq!(newest_first("", &earlier), ["b", "a", "c"]);
        let many: Vec<String> = (0..20).map(|n| n.to_string()).collect();
        assert_eq!(newest_first("x", &many).len(), MAX_IPS);
    }

    #[test]
    fn labels_name_the_browser_and_the_system() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0";
        assert_eq!(label(firefox), "Firefox on Linux");
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
                      Chrome/131.0.0.0 Safari/537.36";
        assert_eq!(label(chrome), "Chrome on Windows");
        let edge = "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/131.0 Safari/537.36 Edg/131.0";
        assert_eq!(label(edge), "Edge on Windows");
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Version/18.1 \
                      Mobile/15E148 Safari/604.1";
        assert_eq!(label(safari), "Safari on iOS");
        assert_eq!(label("curl/8.5.0"), "curl");
        assert_eq!(label(""), "Unknown device");
        assert_eq!(label("e2e/1.0"), "e2e");
    }
}
