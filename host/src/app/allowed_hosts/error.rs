//! Why an `allowed_outbound_hosts` entry cannot be used.

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
        reason: String,
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
