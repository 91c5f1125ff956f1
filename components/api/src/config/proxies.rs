//! The proxies whose `X-Forwarded-For` the app believes (`trusted_proxies`: addresses or CIDR ranges, comma
//! separated). How the client address is then found is [`crate::http::client`].

use std::net::IpAddr;

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

/// The ranges of a comma-separated list (empty: none).
pub fn parse_list(text: &str) -> Result<Vec<Range>, RangeError> {
    text.split(',').map(str::trim).filter(|item| !item.is_empty()).map(Range::parse).collect()
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
        assert_eq!(parse_list(" 10.0.0.0/8 , ::1 ").unwrap().len(), 2);
        assert!(parse_list("").unwrap().is_empty());
    }
}
