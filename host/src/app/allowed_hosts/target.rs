//! Where a request goes, read as Spin's `OutboundUrl` reads it: with `url::Url::parse`, after percent-encoding the
//! user info, and again as `default_scheme://address` when the text is not a URL with an authority.

use std::net::Ipv6Addr;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use url::{Host, ParseError, Url};

/// What `urlencoding::encode` (Spin's user info encoder) leaves as is: ASCII letters, digits and `-_.~`.
const USERINFO_KEPT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// A request destination: what Spin's `OutboundUrl` keeps.
pub(super) struct Target {
    /// Lower-case.
    pub(super) scheme: String,
    /// The host.
    pub(super) host: Host,
    /// The explicit port, if any.
    pub(super) port: Option<u16>,
}

impl Target {
    /// A destination given in parts: the scheme (lower-cased here), a host name, IPv4 address, or IPv6 address with
    /// or without brackets, and the port if any. `None` for a host that is not one.
    pub(super) fn new(scheme: &str, host: &str, port: Option<u16>) -> Option<Self> {
        let host = match host.parse::<Ipv6Addr>() {
            Ok(ip) => Host::Ipv6(ip),
            Err(_) => Host::parse(host).ok()?,
        };
        Some(Self { scheme: scheme.to_ascii_lowercase(), host, port })
    }

    /// Spin's `OutboundUrl::parse(address, default_scheme)`: a URL, or (when it is not one) an address such as
    /// `host:port` or `user:pass@host:port` read as `default_scheme://address`. `None` for a malformed address.
    pub(super) fn parse(address: &str, default_scheme: Option<&str>) -> Option<Self> {
        let encoded = encode_userinfo(address)?;
        let again = || Url::parse(&format!("{}://{encoded}", default_scheme?)).ok();
        let url = match Url::parse(&encoded) {
            Ok(url) if url.has_host() => url,
            // Not a URL with an authority (no scheme, or `host:port` read as a scheme and a path): read it again.
            Ok(url) if !url.has_authority() => again()?,
            Err(ParseError::RelativeUrlWithoutBase) => again()?,
            // An empty host (`redis://`), or a URL the url crate refuses: where Spin reads it again as
            // `default_scheme://url` and finds the scheme's name as the host, it is not allowed here.
            Ok(_) | Err(_) => return None,
        };
        // Spin keeps the host as text and parses it again as a special URL's host.
        let host = Host::parse(url.host_str()?).ok()?;
        Some(Self { scheme: url.scheme().to_owned(), host, port: url.port() })
    }
}

/// Spin's first step in `OutboundUrl::parse`: the user info before the first `@` (when it comes before the first
/// `/` after the scheme) is percent-encoded, so a password may hold `#`, `?` or `:`. `None` where Spin would panic.
fn encode_userinfo(url: &str) -> Option<String> {
    let Some(at) = url.find('@') else {
        return Some(url.to_owned());
    };
    let scheme_end = url.find("://").map_or(0, |end| end + 3);
    let path_start = url.get(scheme_end..)?.find('/').map_or(usize::MAX, |start| start + scheme_end);
    if at >= path_start {
        return Some(url.to_owned());
    }
    let userinfo = utf8_percent_encode(url.get(scheme_end..at)?, USERINFO_KEPT);
    Some(format!("{}{userinfo}{}", url.get(..scheme_end)?, url.get(at..)?))
}
