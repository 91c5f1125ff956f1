//! The UI's files, compiled into the component: each with its path, media type and bytes. An ETag is the
//! SHA-256 of the bytes, so it changes exactly when the file does.

use sha2::{Digest, Sha256};

/// One file.
#[derive(Debug, PartialEq, Eq)]
pub struct Asset {
    /// The paths it answers.
    pub paths: &'static [&'static str],
    /// Its media type.
    pub content_type: &'static str,
    /// Its bytes.
    pub body: &'static [u8],
}

impl Asset {
    /// Its ETag: a quoted prefix of its SHA-256.
    pub fn etag(&self) -> String {
        let digest = Sha256::digest(self.body);
        format!("\"{}\"", data_encoding::HEXLOWER.encode(digest.get(..12).unwrap_or_default()))
    }
}

/// Every file the UI serves.
pub const ASSETS: &[Asset] = &[
    Asset {
        paths: &["/", "/index.html"],
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("../assets/index.html"),
    },
    Asset {
        paths: &["/app.js"],
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/app.js"),
    },
    Asset { paths: &["/app.css"], content_type: "text/css; charset=utf-8", body: include_bytes!("../assets/app.css") },
];

/// The page for any other path.
pub const NOT_FOUND: &[u8] = include_bytes!("../assets/not-found.html");

/// The file at `path`.
pub fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|asset| asset.paths.contains(&path))
}
