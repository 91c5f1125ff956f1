//! Who the client is: its address and its device.
//!
//! The address is the LAST `spin-client-addr` value without its port (Spin appends its own value after any the
//! client sent). When that peer is one of the proxies listed in the `trusted_proxies` variable (addresses or CIDR
//! ranges, comma separated), `X-Forwarded-For` is read from the right: each trusted hop is skipped and the first
//! address that is not a trusted proxy is the client. Values left of it were written by the client and are never
//! believed; a malformed value stops the walk at the last hop that could be trusted.

use std::net::IpAddr;

use crate::config::Lookup;
use crate::http::Request;

/// An address range (`10.0.0.0/8`, `2001:db8::/32`, or one address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    network: IpAddr,
    prefix: u8,
}

/// Why the `trusted_proxies` variable cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("trusted_proxies: {0:?} is not an address or a CIDR range")]
pub struct RangeError(pub String);

impl Range {
    /// Parses `address` or `address/prefix`.
    pub fn parse(text: &str) -> Result<Self, RangeError> {
        let invalid = || RangeError(text.to_owned());
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix.parse::<u8>().map_err(|_| invalid())?)),
            None => (text, None),
        };
        let network: IpAddr = address.trim().parse().map_err(|_| invalid())?;
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(bits);
        if prefix > bits {
            return Err(invalid());
        }
        Ok(Self { network, prefix })
    }

    /// Whether `ip` is in this range (an IPv4-mapped IPv6 address counts as its IPv4 form).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        match (self.network.to_canonical(), ip) {
            (IpAddr::V4(network), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix.min(32))).unwrap_or(0);
                u32::from(network) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(network), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(network) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The ranges in the `trusted_proxies` variable (empty or unset: no proxy is trusted).
pub fn trusted_proxies(get: Lookup<'_>) -> Result<Vec<Range>, RangeError> {
    get("trusted_proxies")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(Range::parse)
        .collect()
}

/// One `X-Forwarded-For` entry as an address (`[v6]:port` and `v4:port` forms accepted).
fn forwarded_address(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry.parse::<IpAddr>().ok().or_else(|| entry.parse::<std::net::SocketAddr>().ok().map(|address| address.ip()))
}

/// The client's address: `peer` (Spin's `spin-client-addr`), or, when `peer` is a trusted proxy, the right-most
/// `X-Forwarded-For` entry that is not one.
pub fn resolve(peer: Option<IpAddr>, forwarded_for: &[&str], trusted: &[Range]) -> Option<IpAddr> {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|range| range.contains(ip));
    let mut client = peer?;
    let hops = forwarded_for.iter().flat_map(|value| value.split(',')).collect::<Vec<_>>();
    for hop in hops.into_iter().rev() {
        if !is_trusted(client) {
            break;
        }
        match forwarded_address(hop) {
            Some(ip) => client = ip,
            None => break,
        }
    }
    Some(client)
}

/// The client address of `request` under the configured trusted proxies (a misconfigured list trusts none,
/// logged).
pub fn client_ip(request: &Request, get: Lookup<'_>) -> Option<IpAddr> {
    let trusted = trusted_proxies(get).unwrap_or_else(|error| {
        eprintln!("{error}");
        Vec::new()
    });
    if trusted.is_empty() {
        return request.peer_ip();
    }
    let forwarded: Vec<&str> = request
        .headers
        .iter()
        .filter(|(name, _)| name == "x-forwarded-for")
        .filter_map(|(_, value)| std::str::from_utf8(value).ok())
        .collect();
    resolve(request.peer_ip(), &forwarded, &trusted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn ranges_parse_and_match() {
        let private = Range::parse("10.0.0.0/8").unwrap();
        assert!(private.contains(ip("10.200.1.2")) && !private.contains(ip("11.0.0.1")));
        assert!(private.contains(ip("::ffff:10.1.1.1")), "IPv4-mapped counts as IPv4");
        let one = Range::parse("192.0.2.7").unwrap();
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
        let v6 = Range::parse("2001:db8::/32").unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")) && !v6.contains(ip("2001:db9::1")));
        assert!(Range::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        for bad in ["10.0.0.0/33", "::/129", "nonsense", "10.0.0.0/x", ""] {
            assert!(Range::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn forwarded_for_is_read_from_the_right_through_trusted_hops_only() {
        let trusted = [Range::parse("10.0.0.0/8").unwrap()];
        let peer = Some(ip("10.0.0.1"));
        // The client wrote "6.6.6.6"; the proxy appended the real address.
        assert_eq!(resolve(peer, &["6.6.6.6, 203.0.113.9"], &trusted), Some(ip("203.0.113.9")));
        // Two trusted hops, over two header lines.
        assert_eq!(resolve(peer, &["198.51.100.4, 10.1.1.1", "10.2.2.2"], &trusted), Some(ip("198.51.100.4")));
        // An untrusted peer's header is ignored.
        assert_eq!(resolve(Some(ip("203.0.113.50")), &["1.2.3.4"], &trusted), Some(ip("203.0.113.50")));
        // A malformed hop stops at the last trusted one.
        assert_eq!(resolve(peer, &["1.2.3.4, junk"], &trusted), Some(ip("10.0.0.1")));
        // Ports and brackets are tolerated.
        assert_eq!(resolve(peer, &["[2001:db8::5]:443"], &trusted), Some(ip("2001:db8::5")));
        assert_eq!(resolve(peer, &[], &trusted), peer);
        assert_eq!(resolve(None, &["1.2.3.4"], &trusted), None);
    }
}
