//! Request bodies: JSON of an exact shape (other content types 415, malformed JSON or unexpected fields 400).

use serde::de::DeserializeOwned;

use super::{Reply, Request};

/// Parses a JSON body, refusing other content types (415) and malformed or unexpected fields (400).
pub fn json<T: DeserializeOwned>(request: &Request) -> Result<T, Reply> {
    let content_type = request.header("content-type").unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if !media_type.eq_ignore_ascii_case("application/json") {
        return Err(Reply::error(415, "unsupported_media_type", "send the body as application/json"));
    }
    serde_json::from_slice(&request.body).map_err(|error| {
        let code = if error.is_data() { "invalid_field" } else { "bad_json" };
        Reply::error(400, code, &format!("the JSON body is not valid: {error}"))
    })
}

/// As [`json`], with `T::default()` for an empty body (every field optional).
pub fn json_or_default<T: DeserializeOwned + Default>(request: &Request) -> Result<T, Reply> {
    if request.body.is_empty() { Ok(T::default()) } else { json(request) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug, Default)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Registration {
        email: String,
        password: String,
    }

    fn request(content_type: &str, body: &str) -> Request {
        Request {
            method: "POST".into(),
            path: "/v1/register".into(),
            headers: vec![("content-type".into(), content_type.as_bytes().to_vec())],
            body: body.as_bytes().to_vec(),
            ..Request::default()
        }
    }

    #[test]
    fn bodies_must_be_json_of_the_right_shape() {
        let parse = |ct, body| json::<Registration>(&request(ct, body)).err().map(|r| (r.status, r.body));
        assert_eq!(parse("text/plain", "{}").map(|r| r.0), Some(415));
        let (status, body) = parse("application/json", "{not json").unwrap();
        assert_eq!(status, 400);
        assert!(String::from_utf8_lossy(&body).contains("bad_json"));
        let (_, body) = parse("application/json; charset=utf-8", r#"{"email": "a@b.c"}"#).unwrap();
        assert!(String::from_utf8_lossy(&body).contains("invalid_field"));
        let (_, body) = parse("application/json", r#"{"email": "a@b.c", "password": "x", "admin": true}"#).unwrap();
        assert!(String::from_utf8_lossy(&body).contains("invalid_field"));
        assert!(json::<Registration>(&request("application/json", r#"{"email":"a@b.c","password":"x"}"#)).is_ok());
        assert!(json_or_default::<Registration>(&request("text/plain", "")).is_ok(), "an empty body is the default");
    }
}
