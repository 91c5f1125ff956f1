//! Who the client is: its address, and where it is when a trusted proxy says so.
//!
//! The address is the LAST `spin-client-addr` value without its port (Spin appends its own value after any the
//! client sent). When that peer is one of the proxies listed in the `trusted_proxies` variable (addresses or CIDR
//! ranges, comma separated), `X-Forwarded-For` is read from the right: each trusted hop is skipped and the first
//! address that is not a trusted proxy is the client. Values left of it were written by the client and are never
//! believed; a malformed value stops the walk at the last hop that could be trusted.

use std::net::IpAddr;

use super::Request;
use crate::config::Settings;
use crate::config::proxies::Range;
use crate::model::Location;

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
pub fn client_ip(request: &Request, settings: &Settings) -> Option<IpAddr> {
    let trusted = settings.trusted_proxies().unwrap_or_else(|error| {
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

/// The client's location from the headers [`Settings::location_headers`] names (the last value of each), believed
/// only when the request comes straight from a trusted proxy (which sets them); unknown otherwise.
pub fn client_location(request: &Request, settings: &Settings) -> Location {
    let Ok(trusted) = settings.trusted_proxies() else { return Location::default() };
    let from_proxy = request.peer_ip().is_some_and(|peer| trusted.iter().any(|range| range.contains(peer)));
    if !from_proxy {
        return Location::default();
    }
    let [country, region, city] = settings.location_headers();
    let read = |name: &str| if name.is_empty() { None } else { request.header(name) };
    Location::reported(read(&country), read(&region), read(&city))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
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
