//! Spin's HTTP router: which `[[trigger.http]]` route handles a request path, and what the component is told about
//! the match (`spin-path-info`, `spin-matched-route`, `spin-component-route`, `spin-raw-component-route` and one
//! `spin-path-match-<name>` header per `:name`).
//!
//! Spin (`crates/routes/src/lib.rs` in spinframework/spin v4.0.2, unchanged since v3.6.3) turns each route into a
//! [routefinder] 0.5.4 route spec and asks routefinder for the best match; this module does the same with the same
//! crate, so that the same manifest routes the same paths the same way:
//!
//! - **Spin's layer** (here). A route without a leading `/` gets one; exactly one trailing `/` is stripped (so `/`
//!   becomes the empty route). A trailing `/...` is rewritten to routefinder's `/*`. Routes are deduplicated by
//!   their text as written: for two identical routes the LATER one wins (Spin logs the earlier one as
//!   unreachable), while keeping the earlier one's place in the insertion order. For a wildcard route,
//!   `spin-path-info` is the wildcard's capture with the slashes routefinder trimmed put back.
//! - **routefinder's layer** (the crate). A route is split on `/` and `.` into literals, `:name` parameters, one
//!   trailing `*` wildcard, slashes and dots (empty pieces between separators vanish, so `/a//b` is the route
//!   `/a/b`). A request path has ALL its leading and trailing `/` trimmed, but a `//` inside it is not collapsed.
//!   Literals match case-sensitively; a parameter captures up to the next `/` (or up to the next `.` when the route
//!   has a `.` after it); the wildcard captures the rest, possibly nothing. Routes are kept in routefinder's sort
//!   order (see [`Router`]) and the first that matches wins.
//!
//! Deliberate differences, all refusing at load time what Spin would accept but could not route sensibly: a `*`
//! wildcard that is not the last piece (routefinder panics when matching it), a `...` piece that is not the final
//! `/...`, parameter names other than ASCII letters, digits and `_`, and non-ASCII routes (routefinder mixes byte
//! and character offsets on them).
//!
//! The reserved prefix [`WELL_KNOWN_PREFIX`] (`/.well-known/spin/`) is answered by the server itself before the
//! router is consulted (`health` and `info`, anything else there is a 404); this module only reports whether a route
//! lies under it ([`Router::contains_reserved_route`]), which Spin logs as an error because such a route is never
//! reached.
//!
//! [routefinder]: https://docs.rs/routefinder/0.5.4

use std::collections::HashMap;

use routefinder::{RouteSpec, Segment};

/// Paths under this prefix are handled by the server (Spin answers `health` and `info`), never by a component.
pub const WELL_KNOWN_PREFIX: &str = "/.well-known/spin/";

/// Why a route from the manifest cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// A `:` with no name after it (routefinder: "params must be named").
    #[error("route {route:?}: a `:` parameter must be named")]
    EmptyParamName {
        /// The route as written.
        route: String,
    },
    /// A parameter name with a character other than an ASCII letter, digit or `_`.
    #[error("route {route:?}: parameter name {name:?} may only contain ASCII letters, digits and `_`")]
    InvalidParamName {
        /// The route as written.
        route: String,
        /// The offending name, without its `:`.
        name: String,
    },
    /// A `*` followed by more text, such as `*rest` (routefinder: there is only one wildcard, it has no name).
    #[error("route {route:?}: the wildcard has no name, replace {piece:?} with `...`")]
    NamedWildcard {
        /// The route as written.
        route: String,
        /// The offending piece of the route.
        piece: String,
    },
    /// A `...` or `*` wildcard that is not the last segment.
    #[error("route {route:?}: a `...` or `*` wildcard may only be the last segment")]
    WildcardNotLast {
        /// The route as written.
        route: String,
    },
    /// A character outside ASCII.
    #[error("route {route:?}: only ASCII routes are supported (percent-encode other characters)")]
    NonAscii {
        /// The route as written.
        route: String,
    },
}

/// One `route` value from a `[[trigger.http]]` table, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// As written in the manifest.
    raw: String,
    /// With a leading `/` and without one trailing `/`: Spin's "based route".
    matched: String,
    /// Ends in `/...` or `/*`.
    wildcard: bool,
    /// What routefinder matches paths against.
    spec: RouteSpec,
}

impl Route {
    /// Parses a route as written in the manifest: `/exact/path`, `/prefix/...` (or `/prefix/*`) for everything under
    /// a prefix, and `:name` segments that match any one segment.
    pub fn parse(raw: &str) -> Result<Self, RouteError> {
        let route = || raw.to_owned();
        if !raw.is_ascii() {
            return Err(RouteError::NonAscii { route: route() });
        }
        let absolute = if raw.starts_with('/') { raw.to_owned() } else { format!("/{raw}") };
        let matched = absolute.strip_suffix('/').map(str::to_owned).unwrap_or(absolute);

        // Spin's `Router::parse_route`.
        let (spec_source, wildcard) = match matched.strip_suffix("/...") {
            Some(prefix) => (format!("{prefix}/*"), true),
            None => (matched.clone(), matched.ends_with("/*")),
        };
        if spec_source.split('/').any(|piece| piece == "...") {
            return Err(RouteError::WildcardNotLast { route: route() });
        }
        // routefinder refuses two things: a `:` alone, and a `*` followed by more text (its message quotes it).
        let spec: RouteSpec = spec_source.parse().map_err(|message: String| match message.split('`').nth(1) {
            Some(piece) => RouteError::NamedWildcard { route: route(), piece: piece.to_owned() },
            None => RouteError::EmptyParamName { route: route() },
        })?;
        let segments = spec.segments();
        for (position, segment) in segments.iter().enumerate() {
            match segment {
                Segment::Wildcard if position + 1 != segments.len() => {
                    return Err(RouteError::WildcardNotLast { route: route() });
                }
                Segment::Param(name) if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') => {
                    return Err(RouteError::InvalidParamName { route: route(), name: name.to_string() });
                }
                _ => {}
            }
        }
        Ok(Self { raw: raw.to_owned(), matched, wildcard, spec })
    }

    /// The route as written in the manifest (the `spin-raw-component-route` header).
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The route with a leading `/` and one trailing `/` removed, `""` for `/` (the `spin-matched-route` header).
    pub fn matched_route(&self) -> &str {
        &self.matched
    }

    /// The route as written with a trailing `/...` removed: `/api/users/:id/...` gives `/api/users/:id` (the
    /// `spin-component-route` header). Like Spin, this starts from the text as written, not the sanitized route, and
    /// leaves a trailing `/*` in place.
    pub fn component_route(&self) -> &str {
        self.raw.strip_suffix("/...").unwrap_or(&self.raw)
    }

    /// Whether the route ends in a `/...` (or `/*`) wildcard.
    pub fn is_wildcard(&self) -> bool {
        self.wildcard
    }
}

/// A manifest route that can never be reached because a later route has the same text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DuplicateRoute {
    /// The matched route as Spin reports it (`/` for the root).
    pub route: String,
    /// Index, in the list given to [`Router::new`], of the route that lost.
    pub replaced: usize,
    /// Index of the route that now handles it.
    pub effective: usize,
}

/// Routes in routefinder's precedence order, each with its handler `T`.
///
/// Precedence (routefinder's sort): the first differing pair of pieces decides, with a literal before a `:param`
/// before the wildcard; when one route is a prefix of the other, the shorter comes first; routes that tie keep the
/// order they were given in. So `/api/:id` beats `/api/...`, `/a/x/:c` beats `/a/:b/c`, and `/` beats `/...`.
#[derive(Debug)]
pub struct Router<T> {
    /// In precedence order.
    routes: routefinder::Router<(Route, T)>,
    /// Routes dropped as duplicates.
    duplicates: Vec<DuplicateRoute>,
}

impl<T> Router<T> {
    /// Builds the router from the routes in manifest order. A route whose text (as written) repeats an earlier one
    /// replaces it, as in Spin; [`Router::duplicates`] lists what was replaced.
    pub fn new(routes: Vec<(Route, T)>) -> Self {
        // Spin's IndexMap keyed by the raw route: a repeat replaces the value but keeps the first position.
        let mut kept: Vec<(Route, T, usize)> = Vec::with_capacity(routes.len());
        let mut positions: HashMap<String, usize> = HashMap::new();
        let mut duplicates = Vec::new();
        for (index, (route, value)) in routes.into_iter().enumerate() {
            match positions.get(route.raw()).and_then(|&position| kept.get_mut(position)) {
                Some(slot) => {
                    let (old, _, replaced) = std::mem::replace(slot, (route, value, index));
                    let shown = if old.matched.is_empty() { "/".to_owned() } else { old.matched };
                    duplicates.push(DuplicateRoute { route: shown, replaced, effective: index });
                }
                None => {
                    positions.insert(route.raw.clone(), kept.len());
                    kept.push((route, value, index));
                }
            }
        }
        // One insertion at a time, as Spin adds them: routefinder's order is not a total order, so sorting the routes
        // at once could order them differently.
        let mut routes = routefinder::Router::new();
        for (route, value, _) in kept {
            let Ok(()) = routes.add(route.spec.clone(), (route, value));
        }
        Self { routes, duplicates }
    }

    /// The best route for a raw request path (as received: not percent-decoded, without the query), or `None` when
    /// no route matches (Spin answers 404).
    pub fn route(&self, path: &str) -> Option<RouteMatch<'_, T>> {
        let found = self.routes.best_match(path)?;
        let (route, value) = found.handler();
        let captures = found.captures();
        let mut params: Vec<(String, String)> = Vec::new();
        for capture in captures.params() {
            // Spin collects the parameters into a map: a repeated name keeps its last value.
            let (name, value) = (capture.name(), capture.value().to_owned());
            match params.iter_mut().find(|(n, _)| n == name) {
                Some(existing) => existing.1 = value,
                None => params.push((name.to_owned(), value)),
            }
        }
        Some(RouteMatch { route, value, params, path_info: path_info(captures.wildcard(), path) })
    }

    /// The routes in precedence order, each with its handler.
    pub fn iter(&self) -> impl Iterator<Item = (&Route, &T)> {
        self.routes.iter().map(|(_, (route, value))| (route, value))
    }

    /// Routes that were replaced by a later route with the same text (Spin logs them as never used).
    pub fn duplicates(&self) -> &[DuplicateRoute] {
        &self.duplicates
    }

    /// Whether some route lies under [`WELL_KNOWN_PREFIX`], where it can never be reached (Spin logs an error).
    pub fn contains_reserved_route(&self) -> bool {
        self.iter().any(|(route, _)| route.matched.starts_with(WELL_KNOWN_PREFIX))
    }
}

/// Spin's `trailing_wildcard`: the wildcard capture with the slashes routefinder trimmed put back.
fn path_info(wildcard: Option<&str>, path: &str) -> String {
    match wildcard {
        None => String::new(),
        Some(rest) => match (rest.is_empty(), path.ends_with('/')) {
            (true, false) => String::new(),
            (true, true) => "/".to_owned(),
            (false, false) => format!("/{rest}"),
            (false, true) => format!("/{rest}/"),
        },
    }
}

/// The name of the header that carries the value of the route parameter `name`: `user_id` gives
/// `spin-path-match-user-id`.
pub fn header_name_for_param(name: &str) -> String {
    format!("spin-path-match-{}", name.replace('_', "-").to_ascii_lowercase())
}

/// A successful match of a request path.
#[derive(Clone, Debug)]
pub struct RouteMatch<'a, T> {
    /// The route that matched.
    route: &'a Route,
    /// Its handler.
    value: &'a T,
    /// `:name` captures in route order.
    params: Vec<(String, String)>,
    /// The `spin-path-info` value.
    path_info: String,
}

impl<'a, T> RouteMatch<'a, T> {
    /// The handler of the matched route.
    pub fn value(&self) -> &'a T {
        self.value
    }

    /// The matched route.
    pub fn route(&self) -> &'a Route {
        self.route
    }

    /// The `spin-matched-route` header: the route with a leading `/` and one trailing `/` removed (`""` for `/`).
    pub fn matched_route(&self) -> &'a str {
        self.route.matched_route()
    }

    /// The `spin-component-route` header: the route as written without a trailing `/...`.
    pub fn component_route(&self) -> &'a str {
        self.route.component_route()
    }

    /// The `spin-raw-component-route` header: the route as written.
    pub fn raw_route(&self) -> &'a str {
        self.route.raw()
    }

    /// The `spin-path-info` header: for a wildcard route, the part of the path the wildcard matched with its leading
    /// `/` (and a trailing `/` when the path has one): route `/test/...` gives `""` for `/test`, `/` for `/test/`,
    /// `/hello` for `/test/hello` and `/hello/` for `/test/hello/`. Empty for other routes.
    pub fn path_info(&self) -> &str {
        &self.path_info
    }

    /// The `:name` parameters and the path segments they matched, in route order (a repeated name appears once,
    /// with its last value, as in Spin). See [`header_name_for_param`] for their header names.
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn router(routes: &[&str]) -> Router<String> {
        Router::new(routes.iter().map(|r| (Route::parse(r).unwrap(), (*r).to_owned())).collect())
    }

    /// The raw route that handles `path`, if any.
    fn winner(routes: &[&str], path: &str) -> Option<String> {
        router(routes).route(path).map(|m| m.value().clone())
    }

    #[test]
    fn sanitize_adds_leading_slash_and_strips_one_trailing_slash() {
        let cases = [
            ("/foo", "/foo"),
            ("foo", "/foo"),
            ("/foo/", "/foo"),
            ("foo/", "/foo"),
            ("/foo//", "/foo/"),
            ("/", ""),
            ("", ""),
            ("/...", "/..."),
            ("/.../", "/..."),
            ("/api/users/:id/...", "/api/users/:id/..."),
        ];
        for (raw, matched) in cases {
            let route = Route::parse(raw).unwrap();
            assert_eq!(route.matched_route(), matched, "{raw}");
            assert_eq!(route.raw(), raw);
        }
    }

    #[test]
    fn component_route_strips_trailing_wildcard_from_the_text_as_written() {
        let cases = [
            ("/api/users/:id/...", "/api/users/:id"),
            ("/...", ""),
            ("/foo", "/foo"),
            ("/foo/*", "/foo/*"),
            ("/foo/", "/foo/"),
            ("foo/...", "foo"),
            ("/", "/"),
        ];
        for (raw, component) in cases {
            assert_eq!(Route::parse(raw).unwrap().component_route(), component, "{raw}");
        }
    }

    #[test]
    fn wildcard_flag() {
        assert!(Route::parse("/foo/...").unwrap().is_wildcard());
        assert!(Route::parse("/foo/*").unwrap().is_wildcard());
        assert!(Route::parse("/...").unwrap().is_wildcard());
        assert!(Route::parse("*").unwrap().is_wildcard());
        assert!(!Route::parse("/foo").unwrap().is_wildcard());
        assert!(!Route::parse("/foo...").unwrap().is_wildcard());
    }

    #[test]
    fn parse_errors() {
        assert!(matches!(Route::parse("/a/.../b"), Err(RouteError::WildcardNotLast { .. })));
        assert!(matches!(Route::parse("/a/*/b"), Err(RouteError::WildcardNotLast { .. })));
        assert!(matches!(Route::parse("/.../..."), Err(RouteError::WildcardNotLast { .. })));
        assert!(matches!(Route::parse("/a/...//"), Err(RouteError::WildcardNotLast { .. })));
        assert!(matches!(Route::parse("/*.json"), Err(RouteError::WildcardNotLast { .. })));
        assert!(matches!(Route::parse("/:"), Err(RouteError::EmptyParamName { .. })));
        assert!(matches!(Route::parse("/:/x"), Err(RouteError::EmptyParamName { .. })));
        assert!(matches!(Route::parse("/a/:/..."), Err(RouteError::EmptyParamName { .. })));
        assert!(matches!(Route::parse("/*rest"), Err(RouteError::NamedWildcard { .. })));
        assert!(matches!(
            Route::parse("/:user-id"),
            Err(RouteError::InvalidParamName { name, .. }) if name == "user-id"
        ));
        assert!(matches!(Route::parse("/caf\u{e9}"), Err(RouteError::NonAscii { .. })));
        let message = Route::parse("/a/.../b").unwrap_err().to_string();
        assert!(message.contains("\"/a/.../b\""), "{message}");
    }

    #[test]
    fn accepted_oddities() {
        // Literal text that merely contains `:` or `*` is a literal, as in routefinder.
        assert_eq!(winner(&["/a:b"], "/a:b").as_deref(), Some("/a:b"));
        assert_eq!(winner(&["/a*"], "/a*").as_deref(), Some("/a*"));
        assert_eq!(winner(&["/foo..."], "/foo...").as_deref(), Some("/foo..."));
        // Empty pieces in a route vanish.
        assert_eq!(winner(&["/a//b"], "/a/b").as_deref(), Some("/a//b"));
    }

    #[test]
    fn exact_routes_ignore_outer_slashes_only() {
        let routes = ["/exact"];
        for path in ["/exact", "/exact/", "/exact//", "//exact", "exact", "///exact///"] {
            assert_eq!(winner(&routes, path).as_deref(), Some("/exact"), "{path}");
        }
        for path in ["/exact/x", "/exactly", "/Exact", "/", "/ex", "/exact/./"] {
            assert_eq!(winner(&routes, path), None, "{path}");
        }
    }

    #[test]
    fn double_slash_inside_a_path_is_an_empty_segment() {
        assert_eq!(winner(&["/a/b"], "/a//b"), None);
        assert_eq!(winner(&["/a/b"], "/a/b"), Some("/a/b".to_owned()));
        let r = router(&["/a/..."]);
        let m = r.route("/a//b").unwrap();
        assert_eq!(m.path_info(), "//b");
        // A parameter followed by more route captures an empty segment, as routefinder does.
        let r = router(&["/a/:b/c"]);
        let m = r.route("/a//c").unwrap();
        assert_eq!(m.params(), [("b".to_owned(), String::new())]);
        // At the end of the route it needs something, and outer slashes are trimmed first.
        assert_eq!(winner(&["/a/:b"], "/a/"), None);
        assert_eq!(winner(&["/a/:b"], "/a//"), None);
        assert_eq!(winner(&["/a/:b"], "/a//x"), None);
    }

    #[test]
    fn root_route() {
        let routes = ["/"];
        for path in ["/", "//", "///"] {
            assert_eq!(winner(&routes, path).as_deref(), Some("/"), "{path}");
        }
        assert_eq!(winner(&routes, "/x"), None);
        let r = router(&routes);
        let m = r.route("/").unwrap();
        assert_eq!(m.matched_route(), "");
        assert_eq!(m.component_route(), "/");
        assert_eq!(m.raw_route(), "/");
        assert_eq!(m.path_info(), "");
    }

    #[test]
    fn precedence_examples() {
        assert_eq!(winner(&["/api/...", "/api/:id"], "/api/42").as_deref(), Some("/api/:id"));
        assert_eq!(winner(&["/api/:id", "/api/..."], "/api/42").as_deref(), Some("/api/:id"));
        assert_eq!(
            winner(&["/api/...", "/api/users/:id/..."], "/api/users/42/x").as_deref(),
            Some("/api/users/:id/...")
        );
        assert_eq!(winner(&["/a/:b/c", "/a/x/:c"], "/a/x/c").as_deref(), Some("/a/x/:c"));
        assert_eq!(winner(&["/a/x/:c", "/a/:b/c"], "/a/x/c").as_deref(), Some("/a/x/:c"));
        assert_eq!(winner(&["/:x", "/foo/..."], "/foo").as_deref(), Some("/foo/..."));
        assert_eq!(winner(&["/foo/...", "/:x"], "/foo").as_deref(), Some("/foo/..."));
        assert_eq!(winner(&["/...", "/"], "/").as_deref(), Some("/"));
        assert_eq!(winner(&["/", "/..."], "/").as_deref(), Some("/"));
        assert_eq!(winner(&["/", "/..."], "/x").as_deref(), Some("/..."));
        assert_eq!(winner(&["/...", "/one"], "/one").as_deref(), Some("/one"));
        // Spin's longest-prefix test, in both orders.
        let nested = ["/one/...", "/one/two/...", "/one/two/three/..."];
        let mut reversed = nested;
        reversed.reverse();
        for routes in [nested, reversed] {
            assert_eq!(winner(&routes, "/one/two/three/four").as_deref(), Some("/one/two/three/..."));
            assert_eq!(winner(&routes, "/one/two").as_deref(), Some("/one/two/..."));
            assert_eq!(winner(&routes, "/one/x").as_deref(), Some("/one/..."));
        }
        // A prefix sorts first: `/foo` before `/foo/...`.
        assert_eq!(winner(&["/foo/...", "/foo"], "/foo").as_deref(), Some("/foo"));
        assert_eq!(winner(&["/foo/...", "/foo"], "/foo/x").as_deref(), Some("/foo/..."));
    }

    #[test]
    fn router_order_is_routefinder_order() {
        let r = router(&["/...", "/:p", "/hello", "/"]);
        let order: Vec<&str> = r.iter().map(|(route, _)| route.raw()).collect();
        // The root route is the shortest (no pieces at all), so it sorts first; it only matches `/` anyway.
        assert_eq!(order, ["/", "/hello", "/:p", "/..."]);
    }

    #[test]
    fn duplicate_raw_routes_last_one_wins() {
        let routes = vec![("/", 0), ("/foo", 1), ("/foo", 2), ("/whee/...", 3), ("/", 4)];
        let r = Router::new(routes.into_iter().map(|(raw, v)| (Route::parse(raw).unwrap(), v)).collect());
        assert_eq!(r.route("/foo").map(|m| *m.value()), Some(2));
        assert_eq!(r.route("/").map(|m| *m.value()), Some(4));
        assert_eq!(r.iter().count(), 3);
        assert_eq!(
            r.duplicates(),
            [
                DuplicateRoute { route: "/foo".to_owned(), replaced: 1, effective: 2 },
                DuplicateRoute { route: "/".to_owned(), replaced: 0, effective: 4 },
            ]
        );
    }

    #[test]
    fn same_route_written_differently_first_one_wins() {
        // Spin dedupes on the text as written; routefinder then keeps insertion order for ties.
        assert_eq!(winner(&["/foo", "/foo/"], "/foo").as_deref(), Some("/foo"));
        assert_eq!(winner(&["/foo/", "/foo"], "/foo").as_deref(), Some("/foo/"));
        assert_eq!(winner(&["/foo/*", "/foo/..."], "/foo/x").as_deref(), Some("/foo/*"));
        assert!(router(&["/foo", "/foo/"]).duplicates().is_empty());
    }

    #[test]
    fn path_info_table() {
        let r = router(&["/test/..."]);
        for (path, info) in [("/test", ""), ("/test/", "/"), ("/test/hello", "/hello"), ("/test/hello/", "/hello/")] {
            assert_eq!(r.route(path).unwrap().path_info(), info, "{path}");
        }
        assert_eq!(r.route("/test//").unwrap().path_info(), "/");
        assert_eq!(r.route("/test/a/b").unwrap().path_info(), "/a/b");
        assert!(r.route("/testing").is_none());

        let r = router(&["/..."]);
        for (path, info) in [("/a/b", "/a/b"), ("/", "/"), ("/a/", "/a/"), ("//a", "/a")] {
            assert_eq!(r.route(path).unwrap().path_info(), info, "{path}");
        }
        let r = router(&["/1/..."]);
        assert_eq!(r.route("/1/2/3").unwrap().path_info(), "/2/3");
        let r = router(&["/exact", "/p/:x"]);
        assert_eq!(r.route("/exact/").unwrap().path_info(), "");
        assert_eq!(r.route("/p/1").unwrap().path_info(), "");
        let r = router(&["/star/*"]);
        assert_eq!(r.route("/star/x/y").unwrap().path_info(), "/x/y");
        // No percent-decoding, no query.
        let r = router(&["/f/..."]);
        assert_eq!(r.route("/f/a%20b").unwrap().path_info(), "/a%20b");
    }

    #[test]
    fn match_reports_routes_and_params() {
        let r = router(&["/api/users/:user_id/...", "/api/:a/:b"]);
        let m = r.route("/api/users/42/sessions/7").unwrap();
        assert_eq!(m.matched_route(), "/api/users/:user_id/...");
        assert_eq!(m.component_route(), "/api/users/:user_id");
        assert_eq!(m.raw_route(), "/api/users/:user_id/...");
        assert_eq!(m.route().raw(), "/api/users/:user_id/...");
        assert_eq!(m.path_info(), "/sessions/7");
        assert_eq!(m.params(), [("user_id".to_owned(), "42".to_owned())]);

        let m = r.route("/api/x/y").unwrap();
        assert_eq!(m.params(), [("a".to_owned(), "x".to_owned()), ("b".to_owned(), "y".to_owned())]);
        assert_eq!(m.path_info(), "");

        let r = router(&["/1/:two/3", "/:a/x/:a"]);
        assert_eq!(r.route("/1/2/3").unwrap().params(), [("two".to_owned(), "2".to_owned())]);
        // A repeated name keeps its last value, as Spin's map does.
        assert_eq!(r.route("/p/x/q").unwrap().params(), [("a".to_owned(), "q".to_owned())]);
    }

    #[test]
    fn raw_route_without_leading_slash() {
        let r = router(&["api/..."]);
        let m = r.route("/api/v").unwrap();
        assert_eq!(m.matched_route(), "/api/...");
        assert_eq!(m.raw_route(), "api/...");
        assert_eq!(m.component_route(), "api");
    }

    #[test]
    fn dots_follow_routefinder() {
        assert_eq!(winner(&["/openapi.json", "/:x"], "/openapi.json").as_deref(), Some("/openapi.json"));
        assert_eq!(winner(&["/openapi.json"], "/openapi.jsonx"), None);
        assert_eq!(winner(&["/openapi.json"], "/openapi/json"), None);
        let r = router(&["/files/:name.json"]);
        let m = r.route("/files/report.json").unwrap();
        assert_eq!(m.params(), [("name".to_owned(), "report".to_owned())]);
        assert!(r.route("/files/report").is_none());
        assert!(r.route("/files/a/b.json").is_none());
        assert_eq!(winner(&["/.well-known/x"], "/.well-known/x").as_deref(), Some("/.well-known/x"));
    }

    #[test]
    fn header_names() {
        assert_eq!(header_name_for_param("user_id"), "spin-path-match-user-id");
        assert_eq!(header_name_for_param("Id"), "spin-path-match-id");
        assert_eq!(header_name_for_param("x"), "spin-path-match-x");
    }

    #[test]
    fn reserved_routes() {
        assert!(router(&["/.well-known/spin/..."]).contains_reserved_route());
        assert!(router(&["/.well-known/spin/fie"]).contains_reserved_route());
        assert!(!router(&["/.well-known/spindle/..."]).contains_reserved_route());
        assert!(!router(&["/.well-known/spin"]).contains_reserved_route());
    }

    #[test]
    fn empty_router_matches_nothing() {
        let r: Router<()> = Router::new(Vec::new());
        assert!(r.route("/").is_none());
        assert!(r.duplicates().is_empty());
    }

    proptest! {
        #[test]
        fn arbitrary_paths_never_panic(path in "\\PC*", dotted in "[/.a:*é]{0,12}") {
            let r = router(&["/", "/...", "/a/:b/c", "/:x.:y", "/a.b/*", "/.x/:y", "/a/..."]);
            let _ = r.route(&path);
            let _ = r.route(&dotted);
            if let Ok(route) = Route::parse(&dotted) {
                let r = Router::new(vec![(route, ())]);
                let _ = r.route(&path);
                let _ = r.route(&dotted);
            }
        }

        #[test]
        fn literal_routes_match_their_own_path(segments in proptest::collection::vec("[a-z0-9_-]{1,6}", 0..5)) {
            let path = format!("/{}", segments.join("/"));
            let r = router(&[path.as_str(), "/..."]);
            let m = r.route(&path).unwrap();
            prop_assert_eq!(m.raw_route(), path.as_str());
            prop_assert_eq!(m.path_info(), "");
        }
    }
}
