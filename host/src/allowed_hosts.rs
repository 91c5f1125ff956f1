//! `allowed_outbound_hosts`: which network destinations a component may reach, checked exactly as Spin 3.x does
//! (`crates/outbound-networking-config/src/allowed_hosts.rs` in spinframework/spin v3.6.3, `AllowedHostConfig` and
//! `OutboundUrl`).
//!
//! An entry is `scheme://host[:port]`, parsed after trimming:
//! - scheme: `*` or letters (`{a,b}` lists are refused);
//! - host: `*`, `*.domain` (any subdomain at any depth, not `domain` itself), or a host name, IPv4 address or
//!   bracketed IPv6 address; one or more trailing `/` are allowed when no port follows, any other path is refused;
//! - port: `*`, a number, or a range `a..b` (end excluded). Without a port, the scheme's [`well_known_port`] is used,
//!   and a scheme without one (including `*`) is an error.
//!
//! The entries reach this module with their `{{ variable }}` templates already expanded (Spin expands a templated
//! entry when it is first used, and fails the request, not the start-up, when the result does not parse).
//!
//! Spin's quirks are kept rather than "fixed", so a check that passes here also passes under Spin: the entry's scheme
//! is compared case-sensitively with the request's (lower-cased) scheme, so `HTTP://host:80` never matches anything;
//! a `*.Domain` suffix is compared as written with the lower-cased request host; `http://[::1]` without a port is
//! refused (Spin finds the port after the last `:`); `ws`/`wss`/`ftp` URLs that spell out their default port count
//! as having no port (the `url` crate drops it) and Spin knows no default for them. Host names are read as the `url`
//! crate reads them: lower-cased, percent-decoded, with the URL standard's IPv4 forms (`127.1`, `0x7f000001`).
//!
//! Not supported, refused with an error naming the entry: `self`/`self.alt` (requests to the app itself), CIDR
//! ranges (`10.0.0.0/8`), service chaining (`*.spin.internal`) and internationalised (non-ASCII) host names (`xn--`
//! names are compared as written, without checking their punycode). Requests naming non-ASCII hosts are not allowed.
//! Where Spin, given a URL it cannot parse, retries it as `default_scheme://url` (and so checks the scheme's name as
//! a host), the URL is simply not allowed here.

use std::fmt::{self, Write as _};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::Range;

/// Why an `allowed_outbound_hosts` entry cannot be used. Every message names the entry as written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AllowedHostError {
    /// `insecure:allow-all`, an old Spin spelling that Spin 3 refuses.
    #[error(
        "allowed_outbound_hosts entry `{entry}` is not allowed: use '*://*:*' instead if you really want to allow all \
         outbound traffic"
    )]
    InsecureAllowAll {
        /// The entry as written.
        entry: String,
    },
    /// `*`, `:`, `?` or nothing: probably meant to allow everything.
    #[error(
        "allowed_outbound_hosts entry `{entry}` is not an allowed outbound host format: hosts must be in the form \
         <scheme>://<host>[:<port>], with '*' wildcards allowed for each; to allow all outbound networking use \
         '*://*:*' (this removes all network sandboxing)"
    )]
    NotAHostFormat {
        /// The entry as written.
        entry: String,
    },
    /// No `://`.
    #[error("allowed_outbound_hosts entry `{entry}` does not contain a scheme (e.g. 'http://' or '*://')")]
    MissingScheme {
        /// The entry as written.
        entry: String,
    },
    /// A path after the host or port (only a trailing `/` is allowed).
    #[error("allowed_outbound_hosts entry `{entry}` has a path but is not allowed to")]
    HasPath {
        /// The entry as written.
        entry: String,
    },
    /// No port, and the scheme has no well-known port.
    #[error(
        "allowed_outbound_hosts entry `{entry}`: no port was provided and the scheme {scheme:?} does not have a known \
         default port number"
    )]
    NoDefaultPort {
        /// The entry as written.
        entry: String,
        /// The scheme as written.
        scheme: String,
    },
    /// A port that is not `*`, a number or a range of numbers.
    #[error("allowed_outbound_hosts entry `{entry}`: invalid port {port:?}: {reason}")]
    InvalidPort {
        /// The entry as written.
        entry: String,
        /// The port part.
        port: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A scheme that is not `*` or letters.
    #[error("allowed_outbound_hosts entry `{entry}`: invalid scheme {scheme:?}: {reason}")]
    InvalidScheme {
        /// The entry as written.
        entry: String,
        /// The scheme part.
        scheme: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A host that is not `*`, `*.domain` or a valid host name or address.
    #[error("allowed_outbound_hosts entry `{entry}`: invalid host {host:?}: {reason}")]
    InvalidHost {
        /// The entry as written.
        entry: String,
        /// The host part.
        host: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Valid for Spin, but a feature this host does not implement.
    #[error("allowed_outbound_hosts entry `{entry}`: {feature} not supported by mfa-host")]
    Unsupported {
        /// The entry as written.
        entry: String,
        /// The feature, as a plural noun phrase.
        feature: &'static str,
    },
}

/// The port a scheme uses when none is given (Spin's `well_known_port`; the scheme must be lower-case).
pub fn well_known_port(scheme: &str) -> Option<u16> {
    match scheme {
        "postgres" => Some(5432),
        "mysql" => Some(3306),
        "redis" => Some(6379),
        "mqtt" => Some(1883),
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

/// A parsed host name or address (the `url` crate's `Host`).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Host {
    /// A lower-case ASCII domain name.
    Domain(String),
    /// An IPv4 address.
    V4(Ipv4Addr),
    /// An IPv6 address.
    V6(Ipv6Addr),
}

/// Why a text is not a [`Host`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HostProblem {
    /// Invalid by the URL standard.
    Invalid(&'static str),
    /// Valid by the URL standard but outside what this module parses.
    Unsupported(&'static str),
}

/// Characters the URL standard forbids in a domain (its "forbidden domain code points"), ASCII only.
fn is_forbidden_in_domain(b: u8) -> bool {
    b <= 0x20
        || b == 0x7f
        || matches!(b, b'#' | b'%' | b'/' | b':' | b'<' | b'>' | b'?' | b'@' | b'[' | b'\\' | b']' | b'^' | b'|')
}

/// The URL standard's "ends in a number" test (the `url` crate's `ends_in_a_number`): such a host must be an IPv4
/// address.
fn ends_in_number(domain: &str) -> bool {
    let mut labels = domain.rsplit('.');
    let last = match labels.next() {
        Some("") => labels.next(),
        other => other,
    };
    let Some(last) = last else {
        return false;
    };
    (!last.is_empty() && last.bytes().all(|b| b.is_ascii_digit())) || ipv4_number(last).is_ok()
}

/// The URL standard's IPv4 number parser (decimal, `0x` hex, `0` octal); `Ok(None)` when it overflows 32 bits.
fn ipv4_number(text: &str) -> Result<Option<u32>, ()> {
    if text.is_empty() {
        return Err(());
    }
    let (digits, radix) = if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        (hex, 16)
    } else if let Some(octal) = text.strip_prefix('0').filter(|rest| !rest.is_empty()) {
        (octal, 8)
    } else {
        (text, 10)
    };
    if digits.is_empty() {
        return Ok(Some(0));
    }
    if !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(());
    }
    Ok(u32::from_str_radix(digits, radix).ok())
}

/// The URL standard's IPv4 parser (the `url` crate's `parse_ipv4addr`): `127.1`, `0x7f000001` and `1.2.3.4.` are
/// all addresses.
fn parse_ipv4(text: &str) -> Option<Ipv4Addr> {
    let mut parts: Vec<&str> = text.split('.').collect();
    if parts.last() == Some(&"") {
        parts.pop();
    }
    if parts.len() > 4 {
        return None;
    }
    let mut numbers = parts.into_iter().map(|part| ipv4_number(part).ok().flatten()).collect::<Option<Vec<u32>>>()?;
    let last = numbers.pop()?;
    let leading = u32::try_from(numbers.len()).ok()?;
    if last > u32::MAX.checked_shr(8 * leading).unwrap_or(0) || numbers.iter().any(|n| *n > 255) {
        return None;
    }
    let address = numbers.iter().zip([24u32, 16, 8]).fold(last, |acc, (n, shift)| acc | (n << shift));
    Some(Ipv4Addr::from(address))
}

/// Percent-decodes `%XX` sequences (a `%` not followed by two hex digits stays).
fn percent_decode(text: &str) -> Vec<u8> {
    let hex = |b: u8| char::from(b).to_digit(16).and_then(|d| u8::try_from(d).ok());
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let escaped = match (b, bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&high), Some(&low)) => hex(high).zip(hex(low)).map(|(h, l)| (h << 4) | l),
            _ => None,
        };
        match escaped {
            Some(value) => {
                decoded.push(value);
                i += 3;
            }
            None => {
                decoded.push(b);
                i += 1;
            }
        }
    }
    decoded
}

/// The `url` crate's `Host::parse` (percent-decoding, then a domain, an IPv4 address or a bracketed IPv6 address),
/// without internationalised names.
fn parse_host(text: &str) -> Result<Host, HostProblem> {
    if let Some(inner) = text.strip_prefix('[') {
        let inner = inner.strip_suffix(']').ok_or(HostProblem::Invalid("unterminated IPv6 address"))?;
        return inner.parse().map(Host::V6).map_err(|_| HostProblem::Invalid("invalid IPv6 address"));
    }
    let decoded = percent_decode(text);
    if !decoded.is_ascii() {
        return Err(HostProblem::Unsupported("internationalised (non-ASCII) host names are"));
    }
    if decoded.is_empty() {
        return Err(HostProblem::Invalid("empty host"));
    }
    if decoded.iter().any(|b| is_forbidden_in_domain(*b)) {
        return Err(HostProblem::Invalid("forbidden character in host name"));
    }
    let domain = String::from_utf8_lossy(&decoded).to_ascii_lowercase();
    if ends_in_number(&domain) {
        return parse_ipv4(&domain).map(Host::V4).ok_or(HostProblem::Invalid("invalid IPv4 address"));
    }
    Ok(Host::Domain(domain))
}

/// The scheme part of an entry.
#[derive(Clone, Debug, PartialEq, Eq)]
enum SchemeSpec {
    /// `*`.
    Any,
    /// One scheme, as written (compared case-sensitively, as Spin does).
    Exact(String),
}

/// The host part of an entry.
#[derive(Clone, Debug, PartialEq, Eq)]
enum HostSpec {
    /// `*`.
    Any,
    /// `*.domain`, kept as `.domain` as written.
    AnySubdomain(String),
    /// One host.
    Literal(Host),
}

/// The port part of an entry.
#[derive(Clone, Debug, PartialEq, Eq)]
enum PortSpec {
    /// `*`.
    Any,
    /// One port (given, or the scheme's default).
    Port(u16),
    /// `a..b`, end excluded.
    Range(Range<u16>),
}

/// A parsed request destination: what Spin's `OutboundUrl` keeps.
struct Target {
    /// Lower-case.
    scheme: String,
    /// The host.
    host: Host,
    /// The explicit port, if any.
    port: Option<u16>,
}

/// Domain suffix of Spin's service chaining.
const SERVICE_CHAINING_SUFFIX: &str = ".spin.internal";

/// One `allowed_outbound_hosts` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowedHost {
    /// As written.
    original: String,
    /// Scheme part.
    scheme: SchemeSpec,
    /// Host part.
    host: HostSpec,
    /// Port part.
    port: PortSpec,
}

impl AllowedHost {
    /// Parses one entry (templates already expanded), as Spin's `AllowedHostConfig::parse`.
    pub fn parse(entry: &str) -> Result<Self, AllowedHostError> {
        let owned = || entry.to_owned();
        let text = entry.trim();
        if text == "insecure:allow-all" {
            return Err(AllowedHostError::InsecureAllowAll { entry: owned() });
        }
        let Some((scheme, rest)) = text.split_once("://") else {
            return Err(match text {
                "*" | ":" | "" | "?" => AllowedHostError::NotAHostFormat { entry: owned() },
                _ => AllowedHostError::MissingScheme { entry: owned() },
            });
        };
        let (host, port_and_path) = rest.rsplit_once(':').unwrap_or((rest, ""));
        let port = match port_and_path.split_once('/') {
            Some((_, path)) if !path.is_empty() => return Err(AllowedHostError::HasPath { entry: owned() }),
            Some((port, _)) => port,
            None => port_and_path,
        };

        // Spin's order: port, scheme, host.
        let port = parse_port(port, scheme, entry)?;
        let scheme = parse_scheme(scheme, entry)?;
        let host = parse_host_spec(host, entry)?;
        Ok(Self { original: entry.to_owned(), scheme, host, port })
    }

    /// The entry as written.
    pub fn as_str(&self) -> &str {
        &self.original
    }

    /// Whether this entry allows `scheme://host[:port]`. The scheme is compared lower-cased (as a parsed URL has
    /// it); the host may be a name, an IPv4 address, or an IPv6 address with or without brackets; without a port
    /// the scheme's [`well_known_port`] is used (none: not allowed unless the entry's port is `*`).
    pub fn allows(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        match request_host(host) {
            Some(host) => self.allows_target(&Target { scheme: scheme.to_ascii_lowercase(), host, port }),
            None => false,
        }
    }

    /// Spin's `AllowedHostConfig::allows`.
    fn allows_target(&self, target: &Target) -> bool {
        let scheme_ok = match &self.scheme {
            SchemeSpec::Any => true,
            SchemeSpec::Exact(s) => *s == target.scheme,
        };
        let host_ok = match (&self.host, &target.host) {
            (HostSpec::Any, _) => true,
            (HostSpec::AnySubdomain(suffix), Host::Domain(domain)) => domain.ends_with(suffix.as_str()),
            (HostSpec::AnySubdomain(_), _) => false,
            (HostSpec::Literal(literal), host) => literal == host,
        };
        let port_ok = match &self.port {
            PortSpec::Any => true,
            allowed => match target.port.or_else(|| well_known_port(&target.scheme)) {
                None => false,
                Some(port) => match allowed {
                    PortSpec::Port(p) => *p == port,
                    PortSpec::Range(range) => range.contains(&port),
                    PortSpec::Any => true,
                },
            },
        };
        scheme_ok && host_ok && port_ok
    }
}

impl fmt::Display for AllowedHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

/// Spin's `PortConfig::parse`.
fn parse_port(port: &str, scheme: &str, entry: &str) -> Result<PortSpec, AllowedHostError> {
    let invalid = |reason| AllowedHostError::InvalidPort { entry: entry.to_owned(), port: port.to_owned(), reason };
    if port.is_empty() {
        return well_known_port(scheme)
            .map(PortSpec::Port)
            .ok_or_else(|| AllowedHostError::NoDefaultPort { entry: entry.to_owned(), scheme: scheme.to_owned() });
    }
    if port == "*" {
        return Ok(PortSpec::Any);
    }
    if port.starts_with('{') {
        return Err(invalid("port lists are not supported"));
    }
    if let Some((start, end)) = port.split_once("..") {
        let start = start.parse().map_err(|_| invalid("the port range contains a non-number"))?;
        let end = end.parse().map_err(|_| invalid("the port range contains a non-number"))?;
        return Ok(PortSpec::Range(start..end));
    }
    port.parse().map(PortSpec::Port).map_err(|_| invalid("not a port number"))
}

/// Spin's `SchemeConfig::parse`.
fn parse_scheme(scheme: &str, entry: &str) -> Result<SchemeSpec, AllowedHostError> {
    let invalid =
        |reason| AllowedHostError::InvalidScheme { entry: entry.to_owned(), scheme: scheme.to_owned(), reason };
    if scheme == "*" {
        return Ok(SchemeSpec::Any);
    }
    if scheme.starts_with('{') {
        return Err(invalid("scheme lists are not supported"));
    }
    if scheme.chars().any(|c| !c.is_alphabetic()) {
        return Err(invalid("only alphabetic characters are allowed"));
    }
    Ok(SchemeSpec::Exact(scheme.to_owned()))
}

/// Spin's `HostConfig::parse`, without `self` and CIDR ranges.
fn parse_host_spec(host: &str, entry: &str) -> Result<HostSpec, AllowedHostError> {
    let invalid = |reason| AllowedHostError::InvalidHost { entry: entry.to_owned(), host: host.to_owned(), reason };
    let unsupported = |feature| AllowedHostError::Unsupported { entry: entry.to_owned(), feature };
    let text = host.trim();
    if text == "*" {
        return Ok(HostSpec::Any);
    }
    if text == "self" || text == "self.alt" {
        return Err(unsupported("`self` hosts (requests to the app itself) are"));
    }
    if text.starts_with('{') {
        return Err(invalid("host lists are not supported"));
    }
    if text.split_once('/').is_some_and(|(ip, _)| ip.parse::<IpAddr>().is_ok()) {
        return Err(unsupported("CIDR ranges are"));
    }
    let text = text.trim_end_matches('/');
    if text.contains('/') {
        return Err(AllowedHostError::HasPath { entry: entry.to_owned() });
    }
    if let Some(domain) = text.strip_prefix("*.") {
        if domain.contains('*') {
            return Err(invalid("wildcards are allowed only as prefixes"));
        }
        let suffix = format!(".{domain}");
        if suffix == SERVICE_CHAINING_SUFFIX {
            return Err(unsupported("service chaining hosts (*.spin.internal) are"));
        }
        return Ok(HostSpec::AnySubdomain(suffix));
    }
    if text.contains('*') {
        return Err(invalid("wildcards are allowed only as subdomains"));
    }
    match parse_host(text) {
        Ok(Host::Domain(domain)) if domain.ends_with(SERVICE_CHAINING_SUFFIX) => {
            Err(unsupported("service chaining hosts (*.spin.internal) are"))
        }
        Ok(literal) => Ok(HostSpec::Literal(literal)),
        Err(HostProblem::Invalid(reason)) => Err(invalid(reason)),
        Err(HostProblem::Unsupported(feature)) => Err(unsupported(feature)),
    }
}

/// A request host given on its own: a name, an IPv4 address, or an IPv6 address with or without brackets.
fn request_host(host: &str) -> Option<Host> {
    match host.parse::<Ipv6Addr>() {
        Ok(ip) => Some(Host::V6(ip)),
        Err(_) => parse_host(host).ok(),
    }
}

/// The `url` crate's "special" schemes, which always have a host.
fn is_special(scheme: &str) -> bool {
    matches!(scheme, "http" | "https" | "ws" | "wss" | "ftp" | "file")
}

/// The ports the `url` crate drops from a special-scheme URL (it then reports no port).
fn url_default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        "ftp" => Some(21),
        _ => None,
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
    let userinfo = url.get(scheme_end..at)?;
    let mut encoded = url.get(..scheme_end)?.to_owned();
    for b in userinfo.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            encoded.push(char::from(b));
        } else {
            let _ = write!(encoded, "%{b:02X}");
        }
    }
    encoded.push_str(url.get(at..)?);
    Some(encoded)
}

/// Splits `host[:port]` at the first `:` outside brackets, as the `url` crate does.
fn split_host_port(text: &str) -> (&str, Option<&str>) {
    let mut in_brackets = false;
    for (i, c) in text.char_indices() {
        match c {
            '[' => in_brackets = true,
            ']' => in_brackets = false,
            ':' if !in_brackets => return (text.get(..i).unwrap_or_default(), text.get(i + 1..)),
            _ => {}
        }
    }
    (text, None)
}

/// What the `url` crate makes of a text, as far as Spin's check goes.
enum Parsed {
    /// A URL with a host.
    Target(Target),
    /// Not a URL with a host: no valid scheme, or a non-special scheme without `//` (`localhost:5432`). Spin then
    /// reads it again with its default scheme.
    NotUrl,
    /// A URL the `url` crate refuses, or one this module does not follow. Not allowed: Spin would read it again as
    /// `default://text`, which can only find the scheme's name as the host.
    Malformed,
}

/// Parses `scheme://[userinfo@]host[:port][/path][?query][#fragment]` as the `url` crate does, for what Spin then
/// checks (scheme, host, port).
fn parse_url(url: &str) -> Parsed {
    // The URL standard's clean-up: outer C0 controls and spaces go, tabs and newlines anywhere go.
    let cleaned: String =
        url.trim_matches(|c: char| c <= ' ').chars().filter(|c| !matches!(c, '\t' | '\n' | '\r')).collect();
    let Some((scheme, rest)) = cleaned.split_once(':') else {
        return Parsed::NotUrl;
    };
    let mut scheme_chars = scheme.chars();
    let valid_scheme = scheme_chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && scheme_chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !valid_scheme {
        return Parsed::NotUrl;
    }
    let scheme = scheme.to_ascii_lowercase();
    let special = is_special(&scheme);
    let authority_and_rest = if scheme == "file" {
        return Parsed::Malformed;
    } else if special {
        // Special schemes take any run of `/` and `\` (even none) before the authority.
        rest.trim_start_matches(['/', '\\'])
    } else if let Some(after) = rest.strip_prefix("//") {
        after
    } else {
        return Parsed::NotUrl;
    };
    let authority_end = authority_and_rest
        .find(|c: char| matches!(c, '/' | '?' | '#') || (special && c == '\\'))
        .unwrap_or(authority_and_rest.len());
    let Some(authority) = authority_and_rest.get(..authority_end) else {
        return Parsed::Malformed;
    };
    let host_and_port = authority.rsplit_once('@').map_or(authority, |(_, after)| after);
    let (host, port) = split_host_port(host_and_port);
    // A port is digits, ended by the end of the authority or (even for non-special schemes) a `\`.
    let port = match port.map(|p| p.split_once('\\').map_or(p, |(digits, _)| digits)) {
        None | Some("") => None,
        Some(digits) if digits.bytes().all(|b| b.is_ascii_digit()) => match digits.parse::<u16>() {
            Ok(port) => Some(port),
            Err(_) => return Parsed::Malformed,
        },
        Some(_) => return Parsed::Malformed,
    };
    let port = port.filter(|p| Some(*p) != url_default_port(&scheme));
    match parse_host(host) {
        Ok(host) => Parsed::Target(Target { scheme, host, port }),
        Err(_) => Parsed::Malformed,
    }
}

/// Spin's `OutboundUrl::parse(address, default_scheme)`: a URL, or (when it is not one) an address such as
/// `host:port` or `user:pass@host:port` read as `default_scheme://address`.
fn outbound_target(address: &str, default_scheme: Option<&str>) -> Option<Target> {
    let encoded = encode_userinfo(address)?;
    match parse_url(&encoded) {
        Parsed::Target(target) => Some(target),
        Parsed::Malformed => None,
        Parsed::NotUrl => match parse_url(&format!("{}://{encoded}", default_scheme?)) {
            Parsed::Target(target) => Some(target),
            Parsed::NotUrl | Parsed::Malformed => None,
        },
    }
}

/// A component's `allowed_outbound_hosts`, parsed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowedHosts {
    /// The entries in manifest order.
    hosts: Vec<AllowedHost>,
}

impl AllowedHosts {
    /// Parses every entry (templates already expanded); the first bad entry is the error.
    pub fn parse(entries: &[String]) -> Result<Self, AllowedHostError> {
        let hosts = entries.iter().map(|entry| AllowedHost::parse(entry)).collect::<Result<_, _>>()?;
        Ok(Self { hosts })
    }

    /// The entries in manifest order.
    pub fn entries(&self) -> &[AllowedHost] {
        &self.hosts
    }

    /// Whether some entry allows `scheme://host[:port]` (see [`AllowedHost::allows`]).
    pub fn allows(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        match request_host(host) {
            Some(host) => self.allows_target(&Target { scheme: scheme.to_ascii_lowercase(), host, port }),
            None => false,
        }
    }

    /// Whether some entry allows the URL `scheme://[userinfo@]host[:port][/path][?query]`, e.g.
    /// `redis://user:pass@cache:6379/0` or `https://api.twilio.com/2010-04-01/...`. User info is ignored, even with
    /// `#`, `?` or `@` in a password. A malformed URL is not allowed.
    pub fn allows_url(&self, url: &str) -> bool {
        outbound_target(url, None).is_some_and(|target| self.allows_target(&target))
    }

    /// Spin's `check_url(address, default_scheme)`: `address` is a URL, or without `://` something like `host:port`
    /// or `user:pass@host:port` read as `default_scheme://address` (Spin checks outbound HTTP with `https`, Redis
    /// with `redis`, and a Postgres connection as `host:port` per host with `postgres`). A malformed address is not
    /// allowed.
    pub fn allows_address(&self, address: &str, default_scheme: &str) -> bool {
        outbound_target(address, Some(default_scheme)).is_some_and(|target| self.allows_target(&target))
    }

    /// Whether some entry allows the target.
    fn allows_target(&self, target: &Target) -> bool {
        self.hosts.iter().any(|host| host.allows_target(target))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(entry: &str) -> AllowedHost {
        AllowedHost::parse(entry).unwrap_or_else(|e| panic!("{entry}: {e}"))
    }

    fn hosts(entries: &[&str]) -> AllowedHosts {
        AllowedHosts::parse(&entries.iter().map(|e| (*e).to_owned()).collect::<Vec<_>>()).unwrap()
    }

    fn domain(name: &str) -> HostSpec {
        HostSpec::Literal(Host::Domain(name.to_owned()))
    }

    fn exact(scheme: &str) -> SchemeSpec {
        SchemeSpec::Exact(scheme.to_owned())
    }

    fn parts(entry: &str) -> (SchemeSpec, HostSpec, PortSpec) {
        let h = parse(entry);
        (h.scheme, h.host, h.port)
    }

    #[test]
    fn accepts_host_without_port_using_default_ports() {
        assert_eq!(parts("http://spin.fermyon.dev"), (exact("http"), domain("spin.fermyon.dev"), PortSpec::Port(80)));
        assert_eq!(parts("http://spin.fermyon.dev/"), (exact("http"), domain("spin.fermyon.dev"), PortSpec::Port(80)));
        assert_eq!(
            parts("https://spin.fermyon.dev"),
            (exact("https"), domain("spin.fermyon.dev"), PortSpec::Port(443))
        );
        assert_eq!(parts("postgres://db").2, PortSpec::Port(5432));
        assert_eq!(parts("mysql://db").2, PortSpec::Port(3306));
        assert_eq!(parts("redis://cache").2, PortSpec::Port(6379));
        assert_eq!(parts("mqtt://broker").2, PortSpec::Port(1883));
        // An empty port after `:` is no port, and several trailing slashes are trimmed, as in Spin.
        assert_eq!(parts("http://h:").2, PortSpec::Port(80));
        assert_eq!(parts("http://h//"), (exact("http"), domain("h"), PortSpec::Port(80)));
        assert_eq!(parts("http://h:/"), (exact("http"), domain("h"), PortSpec::Port(80)));
    }

    #[test]
    fn accepts_ports_ranges_and_wildcards() {
        assert_eq!(parts("http://spin.fermyon.dev:4444").2, PortSpec::Port(4444));
        assert_eq!(parts("http://spin.fermyon.dev:4444/").2, PortSpec::Port(4444));
        assert_eq!(parts("http://spin.fermyon.dev:4444..5555").2, PortSpec::Range(4444..5555));
        assert_eq!(
            parts("*://spin.fermyon.dev:7777"),
            (SchemeSpec::Any, domain("spin.fermyon.dev"), PortSpec::Port(7777))
        );
        assert_eq!(parts("*://*:*"), (SchemeSpec::Any, HostSpec::Any, PortSpec::Any));
        assert_eq!(parts("http://*.example.com").1, HostSpec::AnySubdomain(".example.com".to_owned()));
        assert_eq!(parts("redis://*:6379").1, HostSpec::Any);
        assert_eq!(parts("  https://api.twilio.com  ").1, domain("api.twilio.com"));
        assert_eq!(parse("  https://api.twilio.com  ").as_str(), "  https://api.twilio.com  ");
    }

    #[test]
    fn accepts_addresses_and_localhost() {
        assert_eq!(parts("http://localhost:3001").1, domain("localhost"));
        assert_eq!(parts("http://192.168.1.1").1, HostSpec::Literal(Host::V4(Ipv4Addr::new(192, 168, 1, 1))));
        assert_eq!(parts("http://192.168.1.1:3002").2, PortSpec::Port(3002));
        assert_eq!(
            parts("http://[::1]:8001"),
            (exact("http"), HostSpec::Literal(Host::V6(Ipv6Addr::LOCALHOST)), PortSpec::Port(8001))
        );
        assert_eq!(parts("http://Example.COM").1, domain("example.com"));
        assert_eq!(parts("http://ex%61mple.com").1, domain("example.com"));
        assert_eq!(parts("http://127.1").1, HostSpec::Literal(Host::V4(Ipv4Addr::LOCALHOST)));
        assert_eq!(parts("http://0x7f.0.0.1").1, HostSpec::Literal(Host::V4(Ipv4Addr::LOCALHOST)));
        assert!(matches!(AllowedHost::parse("http://1.2.3.999"), Err(AllowedHostError::InvalidHost { .. })));
    }

    #[test]
    fn rejects_entries_without_a_scheme() {
        for entry in ["spin.fermyon.dev", "spin.fermyon.dev:80", "localhost", "example.com/x", "insecure:allow"] {
            let err = AllowedHost::parse(entry).unwrap_err();
            assert!(matches!(err, AllowedHostError::MissingScheme { .. }), "{entry}: {err:?}");
            assert!(err.to_string().contains("does not contain a scheme"));
        }
        for entry in ["*", ":", "", "?", "  *  "] {
            let err = AllowedHost::parse(entry).unwrap_err();
            assert!(matches!(err, AllowedHostError::NotAHostFormat { .. }), "{entry}: {err:?}");
            assert!(err.to_string().contains("*://*:*"));
        }
    }

    #[test]
    fn rejects_insecure_allow_all() {
        let err = AllowedHost::parse("insecure:allow-all").unwrap_err();
        assert!(matches!(err, AllowedHostError::InsecureAllowAll { .. }));
        assert!(err.to_string().contains("*://*:*"));
        let entries = vec!["https://a.example".to_owned(), "insecure:allow-all".to_owned()];
        assert!(AllowedHosts::parse(&entries).is_err());
    }

    #[test]
    fn rejects_paths() {
        for entry in
            ["http://spin.fermyon.dev/a", "http://spin.fermyon.dev:6666/a/b", "http://*.fermyon.dev/a", "http://h:80//"]
        {
            assert!(matches!(AllowedHost::parse(entry), Err(AllowedHostError::HasPath { .. })), "{entry}");
        }
    }

    #[test]
    fn rejects_bad_ports() {
        assert!(
            matches!(AllowedHost::parse("*://h"), Err(AllowedHostError::NoDefaultPort { scheme, .. }) if scheme == "*")
        );
        assert!(matches!(AllowedHost::parse("rediss://h"), Err(AllowedHostError::NoDefaultPort { .. })));
        assert!(matches!(AllowedHost::parse("tcp://h"), Err(AllowedHostError::NoDefaultPort { .. })));
        // Spin looks the default port up case-sensitively.
        assert!(matches!(AllowedHost::parse("HTTP://h"), Err(AllowedHostError::NoDefaultPort { .. })));
        for entry in [
            "http://h:abc",
            "http://h:70000",
            "http://h:1..x",
            "http://h:x..2",
            "http://h:{80,443}",
            "http://h:-1",
            "http://h:1..2..3",
        ] {
            assert!(matches!(AllowedHost::parse(entry), Err(AllowedHostError::InvalidPort { .. })), "{entry}");
        }
        // Spin finds the port after the LAST `:`, so a bracketed IPv6 address needs one.
        assert!(matches!(AllowedHost::parse("http://[::1]"), Err(AllowedHostError::InvalidPort { .. })));
    }

    #[test]
    fn rejects_bad_schemes() {
        for entry in ["{http,https}://h:80", "ht1p://h:80", "ht-tp://h:80", "*s://h:80"] {
            assert!(matches!(AllowedHost::parse(entry), Err(AllowedHostError::InvalidScheme { .. })), "{entry}");
        }
    }

    #[test]
    fn rejects_bad_hosts() {
        for entry in [
            "http://{a,b}:80",
            "http://a.*.com",
            "http://*.a*.com",
            "http://foo*",
            "http://**",
            "http://:80",
            "http://",
            "http://ex ample.com",
            "http://user@host:80",
            "http://[::1:80",
            "http://[nope]:80",
        ] {
            assert!(matches!(AllowedHost::parse(entry), Err(AllowedHostError::InvalidHost { .. })), "{entry}");
        }
    }

    #[test]
    fn rejects_unsupported_features_naming_the_entry() {
        for entry in [
            "http://self",
            "http://self.alt",
            "*://127.0.0.0/24:80",
            "*://ff00::/8:80",
            "http://*.spin.internal",
            "http://api.spin.internal",
            "http://b\u{fc}cher.de",
            "http://b%C3%BCcher.de",
        ] {
            let err = AllowedHost::parse(entry).unwrap_err();
            assert!(matches!(err, AllowedHostError::Unsupported { .. }), "{entry}: {err:?}");
            assert!(err.to_string().contains(&format!("`{entry}`")), "{err}");
        }
    }

    #[test]
    fn errors_name_the_entry_verbatim() {
        for entry in ["  bogus \"entry\"  ", "http://h:abc", "ht1p://h:80", "http://a.*.com", "*://h", "http://h/a"] {
            let err = AllowedHost::parse(entry).unwrap_err();
            assert!(err.to_string().contains(&format!("`{entry}`")), "{err}");
        }
    }

    #[test]
    fn default_ports_when_checking() {
        let allowed = hosts(&["*://spin.fermyon.dev:443", "http://example.com:8383", "redis://cache"]);
        assert!(allowed.allows("https", "spin.fermyon.dev", None));
        assert!(allowed.allows("https", "spin.fermyon.dev", Some(443)));
        assert!(!allowed.allows("http", "spin.fermyon.dev", None));
        assert!(allowed.allows("http", "spin.fermyon.dev", Some(443)));
        assert!(!allowed.allows("tcp", "spin.fermyon.dev", None));
        assert!(allowed.allows("http", "example.com", Some(8383)));
        assert!(!allowed.allows("http", "example.com", None));
        assert!(allowed.allows("redis", "cache", None));
        assert!(allowed.allows("redis", "cache", Some(6379)));
        assert!(!allowed.allows("redis", "cache", Some(6380)));
        assert!(!allowed.allows("rediss", "cache", Some(6379)));
        // `*` port: no default needed.
        let any_port = hosts(&["*://h:*"]);
        assert!(any_port.allows("tcp", "h", None));
        assert!(any_port.allows("whatever", "h", Some(1)));
    }

    #[test]
    fn wildcard_subdomains() {
        let allowed = hosts(&["http://*.example.com", "http://*.example2.com:8383"]);
        assert!(allowed.allows("http", "a.example.com", None));
        assert!(allowed.allows("http", "a.b.example.com", None));
        assert!(allowed.allows("http", "A.Example.COM", None));
        assert!(allowed.allows("http", "a.b.example2.com", Some(8383)));
        assert!(!allowed.allows("http", "a.b.example2.com", None));
        assert!(!allowed.allows("http", "example.com", None));
        assert!(!allowed.allows("http", "example.com", Some(8383)));
        assert!(!allowed.allows("http", "myexample.com", None));
        assert!(!allowed.allows("http", "a.example.com.evil", None));
        assert!(!allowed.allows("http", "127.0.0.1", None));
        // The suffix is compared as written, as in Spin.
        assert!(!hosts(&["http://*.Example.com"]).allows("http", "a.example.com", None));
    }

    #[test]
    fn port_ranges_exclude_their_end() {
        let allowed = hosts(&["http://h:4444..5555"]);
        assert!(!allowed.allows("http", "h", Some(4443)));
        assert!(allowed.allows("http", "h", Some(4444)));
        assert!(allowed.allows("http", "h", Some(5554)));
        assert!(!allowed.allows("http", "h", Some(5555)));
        assert!(!allowed.allows("http", "h", None));
        // An empty range is accepted and allows nothing, as in Spin.
        let empty = hosts(&["http://h:9..9"]);
        assert!(!empty.allows("http", "h", Some(9)));
    }

    #[test]
    fn ipv6_hosts() {
        let allowed = hosts(&["http://[::1]:8001", "*://[2001:db8::1]:*"]);
        assert!(allowed.allows("http", "[::1]", Some(8001)));
        assert!(allowed.allows("http", "::1", Some(8001)));
        assert!(allowed.allows("http", "[0:0:0:0:0:0:0:1]", Some(8001)));
        assert!(!allowed.allows("http", "[::1]", Some(8002)));
        assert!(!allowed.allows("http", "localhost", Some(8001)));
        assert!(!allowed.allows("http", "127.0.0.1", Some(8001)));
        assert!(allowed.allows("redis", "2001:DB8:0::1", None));
        assert!(allowed.allows_url("http://[::1]:8001/x"));
        assert!(allowed.allows_url("tcp://[2001:db8::1]:5"));
        assert!(!allowed.allows_url("http://[::1]/x"));
    }

    #[test]
    fn case_insensitive_hosts_and_request_schemes() {
        let allowed = hosts(&["https://Spin.Fermyon.dev"]);
        assert!(allowed.allows("https", "spin.fermyon.dev", None));
        assert!(allowed.allows("HTTPS", "SPIN.fermyon.DEV", None));
        assert!(allowed.allows_url("HTTPS://SPIN.FERMYON.DEV/"));
        // An entry's scheme is compared as written, so an upper-case one matches nothing, as in Spin.
        let upper = hosts(&["HTTP://h:80"]);
        assert!(!upper.allows("http", "h", Some(80)));
        assert!(!upper.allows("HTTP", "h", Some(80)));
        assert!(!upper.allows_url("http://h:80"));
    }

    #[test]
    fn ipv4_hosts() {
        let allowed = hosts(&["postgres://127.0.0.1", "*://10.0.0.1:*"]);
        assert!(allowed.allows("postgres", "127.0.0.1", None));
        assert!(!allowed.allows("postgres", "127.0.0.2", None));
        assert!(!allowed.allows("postgres", "localhost", None));
        // The URL standard's IPv4 forms, as the url crate reads them.
        assert!(allowed.allows("postgres", "127.1", None));
        assert!(allowed.allows("postgres", "0x7f000001", None));
        assert!(allowed.allows("postgres", "127.0.0.1.", None));
        assert!(allowed.allows("postgres", "0177.0.0.01", None));
        assert!(!allowed.allows("postgres", "127.0.0.256", None));
        assert!(!allowed.allows("postgres", "1.2.3.4.5", None));
        assert!(allowed.allows_address("127.0.0.1:5432", "postgres"));
        assert!(allowed.allows_address("10.0.0.1:1", "tcp"));
    }

    #[test]
    fn urls_with_userinfo_and_paths() {
        let allowed = hosts(&[
            "https://example.com",
            "redis://redis-host:6379",
            "mysql://xyz.com",
            "postgres://db.internal",
            "http://example.org:8383",
        ]);
        assert!(allowed.allows_url("https://example.com/file@0.1.0.json"));
        assert!(allowed.allows_url("https://user:password@example.com/file@0.1.0.json"));
        assert!(allowed.allows_url("https://user:pass#word@example.com/file@0.1.0.json"));
        assert!(allowed.allows_url("https://user:password@example.com"));
        assert!(allowed.allows_url("https://example.com:443/a?b=c#d"));
        assert!(allowed.allows_url("https://example.com?x"));
        assert!(allowed.allows_url("redis://redis-host:6379/0"));
        assert!(allowed.allows_url("redis://redis-host"));
        // A `/` in a password ends the authority first (the url crate then sees host `ss`, port `w`).
        assert!(!allowed.allows_url("redis://user:p@ss:w/rd@redis-host:6379/0"));
        assert!(allowed.allows_url("redis://:secret@redis-host:6379"));
        assert!(allowed.allows_url("redis://default:p@ss@redis-host:6379/1"));
        assert!(allowed.allows_url("mysql://user:pass#word@xyz.com"));
        assert!(allowed.allows_url("mysql://user%3Apass%23word@xyz.com"));
        assert!(allowed.allows_url("postgres://u:p@db.internal/mfa?sslmode=disable"));
        assert!(allowed.allows_url("http://example.org:8383/foo/bar"));
        assert!(!allowed.allows_url("http://example.org/foo/bar"));
        assert!(!allowed.allows_url("https://example.com.evil.net/"));
        assert!(!allowed.allows_url("https://evil.net/@example.com"));
        assert!(!allowed.allows_url("https://example.com@evil.net/"));
        assert!(!allowed.allows_url("redis://redis-host:6380/0"));
        assert!(!allowed.allows_url("rediss://redis-host:6379"));
        // Without `://` only allows_address reads it, with the given scheme.
        assert!(!allowed.allows_url("redis-host:6379"));
        assert!(allowed.allows_address("redis-host:6379", "redis"));
        assert!(allowed.allows_address("user%3Apass%23word@xyz.com", "mysql"));
        assert!(allowed.allows_address("user:pass@xyz.com", "mysql"));
        assert!(allowed.allows_address("db.internal:5432", "postgres"));
        assert!(allowed.allows_address("db.internal", "postgres"));
        assert!(!allowed.allows_address("db.internal:5433", "postgres"));
        assert!(allowed.allows_address("https://example.com/x", "redis"));
    }

    #[test]
    fn spin_check_url_examples() {
        let allowed = hosts(&["*://spin.fermyon.dev:443", "http://example.com:8383"]);
        assert!(allowed.allows_address("http://example.com:8383/foo/bar", "http"));
        assert!(allowed.allows_address("https://spin.fermyon.dev", "https"));
        assert!(allowed.allows_address("https://spin.fermyon.dev/", "https"));
        assert!(!allowed.allows_address("http://example.com/", "http"));
        assert!(!allowed.allows_address("http://google.com/", "http"));
        assert!(allowed.allows_address("spin.fermyon.dev:443", "https"));
        assert!(allowed.allows_address("example.com:8383", "http"));
        let trailing = hosts(&["https://my.api.com/"]);
        assert!(trailing.allows_url("https://my.api.com"));
        assert!(trailing.allows_url("https://my.api.com/"));
    }

    #[test]
    fn url_default_ports_follow_the_url_crate() {
        // `http://h:80` is `http://h` once parsed; same result since Spin's default for http is 80.
        assert!(hosts(&["http://h:80"]).allows_url("http://h:80/"));
        // For ws the url crate drops :80 and Spin has no default for ws: never allowed with an explicit port entry.
        assert!(!hosts(&["ws://h:80"]).allows_url("ws://h:80"));
        assert!(hosts(&["ws://h:81"]).allows_url("ws://h:81"));
        assert!(hosts(&["ws://h:*"]).allows_url("ws://h"));
    }

    #[test]
    fn malformed_urls_are_not_allowed() {
        let allowed = hosts(&["*://*:*"]);
        for url in [
            "",
            "not a url",
            "http://",
            "http://:80",
            "https://h:99999",
            "https://h:8a",
            "http://[::1",
            "://h:80",
            "http://ex ample.com/",
            "a@b://h",
            "redis://",
        ] {
            assert!(!allowed.allows_url(url), "{url}");
            assert!(!allowed.allows_address(url, "http"), "{url}");
        }
        // Not a URL (a scheme cannot start with a digit), so Spin reads it as `http://1http://h`: host `1http`.
        assert!(!allowed.allows_url("1http://h"));
        assert!(allowed.allows_address("1http://h", "http"));
        assert!(!hosts(&["http://h"]).allows_address("1http://h", "http"));
        // `*://*:*` does allow anything well-formed. A special scheme needs no `//`, as in the url crate.
        assert!(allowed.allows_url("http:example.com"));
        assert!(allowed.allows_url("http:\\\\example.com"));
        assert!(hosts(&["http://example.com"]).allows_url("http:/example.com/x"));
        assert!(!allowed.allows_url("redis:example.com"));
        // A backslash ends a special URL's authority, as in the url crate.
        assert!(allowed.allows_url("http://h\\x"));
        assert!(allowed.allows_url("gopher://h"));
        assert!(allowed.allows_url(" http://h/ "));
        assert!(allowed.allows_address("h", "tcp"));
    }

    #[test]
    fn empty_list_allows_nothing() {
        let none = AllowedHosts::parse(&[]).unwrap();
        assert!(none.entries().is_empty());
        assert!(!none.allows("https", "example.com", None));
        assert!(!none.allows_url("https://example.com"));
    }

    #[test]
    fn display_is_the_entry() {
        assert_eq!(parse("https://a.example:8443").to_string(), "https://a.example:8443");
        assert_eq!(hosts(&["https://a.example", "redis://r"]).entries().len(), 2);
    }

    proptest! {
        #[test]
        fn arbitrary_strings_never_panic(entry in "\\PC*", url in "\\PC*", scheme in "[a-zA-Z*]{0,6}", port in proptest::option::of(any::<u16>())) {
            let parsed = AllowedHost::parse(&entry);
            if let Ok(host) = &parsed {
                let _ = host.allows(&scheme, &url, port);
            }
            let allowed = hosts(&["*://*:*", "http://*.example.com", "redis://r:1..100"]);
            let _ = allowed.allows_url(&url);
            let _ = allowed.allows_address(&url, &scheme);
            let _ = allowed.allows(&scheme, &url, port);
        }

        #[test]
        fn structured_entries_never_panic(entry in "[a-z*{}]{0,4}(://)?[a-z0-9.*\\[\\]:/@%{},]{0,16}") {
            match AllowedHost::parse(&entry) {
                Ok(host) => {
                    let _ = host.allows("http", "a.b", None);
                }
                Err(e) => {
                    let quoted = format!("`{}`", entry);
                    prop_assert!(e.to_string().contains(&quoted));
                }
            }
        }
    }
}
