//! `allowed_outbound_hosts`: which network destinations a component may reach, checked exactly as Spin 4.0.2 does
//! (`crates/outbound-networking-config/src/allowed_hosts.rs` in spinframework/spin, `AllowedHostConfig` and
//! `OutboundUrl`), with the same `url` crate.
//!
//! An entry ([`entry`]) is `scheme://host[:port]`, split as Spin splits it after trimming:
//! - scheme: `*` or letters (`{a,b}` lists are refused);
//! - host: `*`, `*.domain` (any subdomain at any depth, not `domain` itself), or a host name, IPv4 address or
//!   bracketed IPv6 address as `url::Host::parse` reads it; one or more trailing `/` are allowed when no port
//!   follows, any other path is refused;
//! - port: `*`, a number, or a range `a..b` (end excluded). Without a port, the scheme's [`well_known_port`] is used,
//!   and a scheme without one (including `*`) is an error.
//!
//! The entries reach this module with their `{{ variable }}` templates already expanded (Spin expands a templated
//! entry when it is first used, and fails the request, not the start-up, when the result does not parse). A request's
//! destination ([`target`]) is read with `url::Url::parse`, as Spin's `OutboundUrl` reads it.
//!
//! Spin's quirks are kept rather than "fixed", so a check that passes here also passes under Spin: the entry's scheme
//! is compared case-sensitively with the request's (lower-cased) scheme, so `HTTP://host:80` never matches anything;
//! a `*.Domain` suffix is compared as written with the lower-cased request host; `http://[::1]` without a port is
//! refused (Spin finds the port after the last `:`); `ws`/`wss`/`ftp` URLs that spell out their default port count
//! as having no port (the `url` crate drops it) and Spin knows no default for them. Host names are read as the `url`
//! crate reads them: lower-cased, percent-decoded, with the URL standard's IPv4 forms (`127.1`, `0x7f000001`).
//!
//! Not supported, refused with an error naming the entry: `self`/`self.alt` (requests to the app itself), CIDR
//! ranges (`10.0.0.0/8`), service chaining (`*.spin.internal`) and entries with internationalised (non-ASCII) host
//! names (write their `xn--` form; a request naming a non-ASCII host is compared in that form, as in Spin). Where
//! Spin, given a URL the `url` crate refuses or one with an empty host (`redis://`), retries it as
//! `default_scheme://url` (and so checks the scheme's name as a host), the URL is simply not allowed here.

mod entry;
mod error;
mod target;
#[cfg(test)]
mod tests;

pub use entry::{AllowedHost, well_known_port};
pub use error::AllowedHostError;
use target::Target;

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
        Target::new(scheme, host, port).is_some_and(|target| self.allows_target(&target))
    }

    /// Whether some entry allows the URL `scheme://[userinfo@]host[:port][/path][?query]`, e.g.
    /// `redis://user:pass@cache:6379/0` or `https://api.twilio.com/2010-04-01/...`. User info is ignored, even with
    /// `#`, `?` or `@` in a password. A malformed URL is not allowed.
    pub fn allows_url(&self, url: &str) -> bool {
        Target::parse(url, None).is_some_and(|target| self.allows_target(&target))
    }

    /// Spin's `check_url(address, default_scheme)`: `address` is a URL, or without `://` something like `host:port`
    /// or `user:pass@host:port` read as `default_scheme://address` (Spin checks outbound HTTP with `https`, Redis
    /// with `redis`, and a Postgres connection as `host:port` per host with `postgres`). A malformed address is not
    /// allowed.
    pub fn allows_address(&self, address: &str, default_scheme: &str) -> bool {
        Target::parse(address, Some(default_scheme)).is_some_and(|target| self.allows_target(&target))
    }

    /// Whether some entry allows the target.
    fn allows_target(&self, target: &Target) -> bool {
        self.hosts.iter().any(|host| host.allows_target(target))
    }
}
