//! The devices a user logged in with: one row per (user, device cookie), the cookie's id stored only as its
//! SHA-256 digest, with the addresses it came from (newest first, at most [`MAX_IPS`]), its last user agent and a
//! readable label. They feed session-policy's login risk signals (new device, new IP, user agent changed) and
//! exempt a device that already logged in to an account from that account's password limit.

use crate::bindings::mfa::session::risk::KnownDevice;
use crate::sql::{Db, DbError, SqlValue};

/// Addresses kept per device.
pub const MAX_IPS: usize = 10;

/// Devices considered per login (the most recently seen).
const MAX_DEVICES: i64 = 50;

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

/// The user's devices, most recently seen first.
pub fn known(db: &Db, user_id: &str) -> Result<Vec<KnownDevice>, DbError> {
    let rows = db.query(
        "SELECT device_hash, ips, user_agent FROM user_devices WHERE user_id = $1 \
         ORDER BY last_seen_at DESC LIMIT $2",
        &[SqlValue::Text(user_id.to_owned()), SqlValue::Int(MAX_DEVICES)],
    )?;
    Ok(rows
        .into_iter()
        .filter_map(|row| match row.as_slice() {
            [hash, ips, agent] => Some(KnownDevice {
                device_id: hash.as_str()?.to_owned(),
                ips: ips.as_str().unwrap_or("").split(',').filter(|ip| !ip.is_empty()).map(str::to_owned).collect(),
                user_agent: agent.as_str().unwrap_or("").to_owned(),
            }),
            _ => None,
        })
        .collect())
}

/// Whether `device_hash` already logged in to `user_id`.
pub fn is_known(db: &Db, user_id: &str, device_hash: &str) -> Result<bool, DbError> {
    let rows = db.query(
        "SELECT 1 FROM user_devices WHERE user_id = $1 AND device_hash = $2",
        &[SqlValue::Text(user_id.to_owned()), SqlValue::Text(device_hash.to_owned())],
    )?;
    Ok(!rows.is_empty())
}

/// Records a login of `user_id` from `device_hash` at `ip` with `user_agent`.
pub fn remember(
    db: &Db,
    known: &[KnownDevice],
    user_id: &str,
    device_hash: &str,
    ip: &str,
    user_agent: &str,
    now: i64,
) -> Result<(), DbError> {
    let mut ips: Vec<String> = vec![ip.to_owned()];
    if let Some(device) = known.iter().find(|device| device.device_id == device_hash) {
        ips.extend(device.ips.iter().filter(|known_ip| *known_ip != ip).cloned());
    }
    ips.retain(|ip| !ip.is_empty());
    ips.truncate(MAX_IPS);
    db.execute(
        "INSERT INTO user_devices (user_id, device_hash, label, ips, user_agent, first_seen_at, last_seen_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (user_id, device_hash) DO UPDATE SET \
         label = excluded.label, ips = excluded.ips, user_agent = excluded.user_agent, \
         last_seen_at = excluded.last_seen_at",
        &[
            SqlValue::Text(user_id.to_owned()),
            SqlValue::Text(device_hash.to_owned()),
            SqlValue::Text(label(user_agent)),
            SqlValue::Text(ips.join(",")),
            SqlValue::Text(user_agent.to_owned()),
            SqlValue::Int(now),
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
