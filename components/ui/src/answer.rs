//! What the UI component answers: a file for `GET` and `HEAD` (the page for `/`), `304` when the browser's copy is
//! current (`If-None-Match` with the file's ETag), `404` (a small page) for any other path and `405` for any other
//! method. Every answer carries the headers that keep the pages safe: a strict Content-Security-Policy (scripts,
//! styles, fetches and forms only from this origin, images also as `data:` URLs for QR codes; no inline script,
//! no framing), `nosniff`, no referrer, HSTS, and `no-cache` (the browser revalidates, so an update is seen at
//! once).

use crate::assets;

/// The policy every UI answer carries.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                                           img-src 'self' data:; connect-src 'self'; form-action 'self'; \
                                           base-uri 'none'; frame-ancestors 'none'";

/// An answer: status, headers, body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: &'static [u8],
}

/// The headers of every answer, with `content_type`.
fn headers(content_type: &str) -> Vec<(&'static str, String)> {
    vec![
        ("content-type", content_type.to_owned()),
        ("content-security-policy", CONTENT_SECURITY_POLICY.to_owned()),
        ("x-content-type-options", "nosniff".to_owned()),
        ("referrer-policy", "no-referrer".to_owned()),
        ("x-frame-options", "DENY".to_owned()),
        ("strict-transport-security", "max-age=63072000; includeSubDomains".to_owned()),
        ("cross-origin-opener-policy", "same-origin".to_owned()),
        ("cache-control", "no-cache".to_owned()),
    ]
}

/// The answer to `method` on `path` (without the query), the browser holding the copy `if_none_match`.
pub fn answer(method: &str, path: &str, if_none_match: Option<&str>) -> Reply {
    if method != "GET" && method != "HEAD" {
        let mut headers = headers("text/plain; charset=utf-8");
        headers.push(("allow", "GET, HEAD".to_owned()));
        return Reply { status: 405, headers, body: b"use GET or HEAD\n" };
    }
    let Some(asset) = assets::find(path) else {
        return Reply { status: 404, headers: headers("text/html; charset=utf-8"), body: assets::NOT_FOUND };
    };
    let etag = asset.etag();
    let mut headers = headers(asset.content_type);
    headers.push(("etag", etag.clone()));
    if if_none_match.is_some_and(|given| given.split(',').any(|tag| tag.trim() == etag)) {
        return Reply { status: 304, headers, body: b"" };
    }
    Reply { status: 200, headers, body: asset.body }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header<'a>(reply: &'a Reply, name: &str) -> Option<&'a str> {
        reply.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }

    #[test]
    fn the_page_and_its_files_are_served_with_a_strict_policy() {
        let page = answer("GET", "/", None);
        assert_eq!((page.status, header(&page, "content-type")), (200, Some("text/html; charset=utf-8")));
        assert_eq!(header(&page, "content-security-policy"), Some(CONTENT_SECURITY_POLICY));
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe"));
        let script = answer("GET", "/app.js", None);
        assert_eq!(header(&script, "content-type"), Some("text/javascript; charset=utf-8"));
        assert_eq!(answer("HEAD", "/app.css", None).status, 200);
    }

    #[test]
    fn a_current_copy_is_not_sent_again() {
        let page = answer("GET", "/", None);
        let etag = header(&page, "etag").unwrap().to_owned();
        let again = answer("GET", "/", Some(&format!("\"other\", {etag}")));
        assert_eq!((again.status, again.body.len()), (304, 0));
        assert_eq!(answer("GET", "/", Some("\"stale\"")).status, 200);
    }

    #[test]
    fn anything_else_is_refused() {
        let missing = answer("GET", "/nothing-here", None);
        assert_eq!((missing.status, header(&missing, "content-type")), (404, Some("text/html; charset=utf-8")));
        let post = answer("POST", "/", None);
        assert_eq!((post.status, header(&post, "allow")), (405, Some("GET, HEAD")));
    }
}
