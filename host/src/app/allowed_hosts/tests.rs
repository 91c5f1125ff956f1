//! The unit tests of `allowed_outbound_hosts`, most of them Spin's own cases.

use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use url::Host;

use super::entry::{HostSpec, PortSpec, SchemeSpec};
use super::*;

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
    assert_eq!(parts("https://spin.fermyon.dev"), (exact("https"), domain("spin.fermyon.dev"), PortSpec::Port(443)));
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
    assert_eq!(parts("*://spin.fermyon.dev:7777"), (SchemeSpec::Any, domain("spin.fermyon.dev"), PortSpec::Port(7777)));
    assert_eq!(parts("*://*:*"), (SchemeSpec::Any, HostSpec::Any, PortSpec::Any));
    assert_eq!(parts("http://*.example.com").1, HostSpec::AnySubdomain(".example.com".to_owned()));
    assert_eq!(parts("redis://*:6379").1, HostSpec::Any);
    assert_eq!(parts("  https://api.twilio.com  ").1, domain("api.twilio.com"));
    assert_eq!(parse("  https://api.twilio.com  ").as_str(), "  https://api.twilio.com  ");
}

#[test]
fn accepts_addresses_and_localhost() {
    assert_eq!(parts("http://localhost:3001").1, domain("localhost"));
    assert_eq!(parts("http://192.168.1.1").1, HostSpec::Literal(Host::Ipv4(Ipv4Addr::new(192, 168, 1, 1))));
    assert_eq!(parts("http://192.168.1.1:3002").2, PortSpec::Port(3002));
    assert_eq!(
        parts("http://[::1]:8001"),
        (exact("http"), HostSpec::Literal(Host::Ipv6(Ipv6Addr::LOCALHOST)), PortSpec::Port(8001))
    );
    assert_eq!(parts("http://Example.COM").1, domain("example.com"));
    assert_eq!(parts("http://ex%61mple.com").1, domain("example.com"));
    assert_eq!(parts("http://127.1").1, HostSpec::Literal(Host::Ipv4(Ipv4Addr::LOCALHOST)));
    assert_eq!(parts("http://0x7f.0.0.1").1, HostSpec::Literal(Host::Ipv4(Ipv4Addr::LOCALHOST)));
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
