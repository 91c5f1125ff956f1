//! One `allowed_outbound_hosts` entry, parsed and checked as Spin's `AllowedHostConfig` does: the entry is split by
//! hand (`scheme://host[:port]`), then each part is read on its own, the host with `url::Host::parse`.

use std::fmt;
use std::net::IpAddr;
use std::ops::Range;

use percent_encoding::percent_decode_str;
use url::Host;

use super::error::AllowedHostError;
use super::target::Target;

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

/// Domain suffix of Spin's service chaining.
const SERVICE_CHAINING_SUFFIX: &str = ".spin.internal";

/// The scheme part of an entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum SchemeSpec {
    /// `*`.
    Any,
    /// One scheme, as written (compared case-sensitively, as Spin does).
    Exact(String),
}

/// The host part of an entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum HostSpec {
    /// `*`.
    Any,
    /// `*.domain`, kept as `.domain` as written.
    AnySubdomain(String),
    /// One host.
    Literal(Host),
}

/// The port part of an entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum PortSpec {
    /// `*`.
    Any,
    /// One port (given, or the scheme's default).
    Port(u16),
    /// `a..b`, end excluded.
    Range(Range<u16>),
}

/// One `allowed_outbound_hosts` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowedHost {
    /// As written.
    original: String,
    /// Scheme part.
    pub(super) scheme: SchemeSpec,
    /// Host part.
    pub(super) host: HostSpec,
    /// Port part.
    pub(super) port: PortSpec,
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
        let host = parse_host(host, entry)?;
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
        Target::new(scheme, host, port).is_some_and(|target| self.allows_target(&target))
    }

    /// Spin's `AllowedHostConfig::allows`.
    pub(super) fn allows_target(&self, target: &Target) -> bool {
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
        let port = target.port.or_else(|| well_known_port(&target.scheme));
        let port_ok = match &self.port {
            PortSpec::Any => true,
            PortSpec::Port(allowed) => port == Some(*allowed),
            PortSpec::Range(range) => port.is_some_and(|port| range.contains(&port)),
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

/// Spin's `HostConfig::parse`, without `self`, CIDR ranges, service chaining and non-ASCII names.
fn parse_host(host: &str, entry: &str) -> Result<HostSpec, AllowedHostError> {
    let invalid =
        |reason: String| AllowedHostError::InvalidHost { entry: entry.to_owned(), host: host.to_owned(), reason };
    let unsupported = |feature| AllowedHostError::Unsupported { entry: entry.to_owned(), feature };
    let text = host.trim();
    if text == "*" {
        return Ok(HostSpec::Any);
    }
    if text == "self" || text == "self.alt" {
        return Err(unsupported("`self` hosts (requests to the app itself) are"));
    }
    if text.starts_with('{') {
        return Err(invalid("host lists are not supported".into()));
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
            return Err(invalid("wildcards are allowed only as prefixes".into()));
        }
        let suffix = format!(".{domain}");
        if suffix == SERVICE_CHAINING_SUFFIX {
            return Err(unsupported("service chaining hosts (*.spin.internal) are"));
        }
        return Ok(HostSpec::AnySubdomain(suffix));
    }
    if text.contains('*') {
        return Err(invalid("wildcards are allowed only as subdomains".into()));
    }
    if percent_decode_str(text).any(|byte| !byte.is_ascii()) {
        return Err(unsupported("internationalised (non-ASCII) host names are"));
    }
    match Host::parse(text) {
        Ok(Host::Domain(domain)) if domain.ends_with(SERVICE_CHAINING_SUFFIX) => {
            Err(unsupported("service chaining hosts (*.spin.internal) are"))
        }
        Ok(literal) => Ok(HostSpec::Literal(literal)),
        Err(error) => Err(invalid(error.to_string())),
    }
}
