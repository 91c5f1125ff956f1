//! Request bodies: JSON of an exact shape (other content types 415, malformed JSON or unexpected fields 400), and
//! where a standard asks for it (RFC 7662's introspection) the same shape as an HTML form.

use serde::de::DeserializeOwned;

use super::{Reply, Request};

/// Whether the body's media type (the `Content-Type` without parameters) is `expected`.
fn has_media_type(request: &Request, expected: &str) -> bool {
    let content_type = request.header("content-type").unwrap_or("");
    content_type.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case(expected)
}

/// Parses a JSON body, refusing other content types (415) and malformed or unexpected fields (400).
pub fn json<T: DeserializeOwned>(request: &Request) -> Result<T, Reply> {
    if !has_media_type(request, "application/json") {
        return Err(Reply::error(415, "unsupported_media_type", "send the body as application/json"));
    }
    // Every body is an object: serde would also read a struct from an array of its fields.
    if request.body.iter().find(|byte| !byte.is_ascii_whitespace()).is_some_and(|first| *first == b'[') {
        return Err(Reply::error(400, "invalid_field", "the JSON body must be an object"));
    }
    serde_json::from_slice(&request.body).map_err(|error| {
        let code = if error.is_data() { "invalid_field" } else { "bad_json" };
        Reply::error(400, code, &format!("the JSON body is not valid: {error}"))
    })
}

/// As [`json`], also accepting the same fields as `application/x-www-form-urlencoded` (each a text value, none
/// twice): the request form RFC 7662 and RFC 6749 define.
pub fn json_or_form<T: DeserializeOwned>(request: &Request) -> Result<T, Reply> {
    if !has_media_type(request, "application/x-www-form-urlencoded") {
        return json(request).map_err(|refusal| {
            if refusal.status == 415 {
                let message = "send the body as application/json or application/x-www-form-urlencoded";
                Reply::error(415, "unsupported_media_type", message)
            } else {
                refusal
            }
        });
    }
    let mut fields = serde_json::Map::new();
    for (name, value) in form_urlencoded::parse(&request.body) {
        if fields.insert(name.clone().into_owned(), value.into_owned().into()).is_some() {
            return Err(Reply::error(400, "invalid_field", &format!("the form gives `{name}` more than once")));
        }
    }
    serde_json::from_value(fields.into())
        .map_err(|error| Reply::error(400, "invalid_field", &format!("the form is not valid: {error}")))
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
        let (_, body) = parse("application/json", r#" ["a@b.c", "x"]"#).unwrap();
        assert!(String::from_utf8_lossy(&body).contains("invalid_field"), "an array is no object");
        assert!(json_or_default::<Registration>(&request("text/plain", "")).is_ok(), "an empty body is the default");
    }

    #[test]
    fn a_form_body_is_read_as_the_same_fields() {
        let form = "application/x-www-form-urlencoded";
        let parsed = json_or_form::<Registration>(&request(form, "email=a%40b.c&password=x+y%26z")).unwrap();
        assert_eq!((parsed.email.as_str(), parsed.password.as_str()), ("a@b.c", "x y&z"));
        let json = json_or_form::<Registration>(&request("application/json", r#"{"email":"a@b.c","password":"x"}"#));
        assert!(json.is_ok());
        let refused = |ct, body| json_or_form::<Registration>(&request(ct, body)).err().map(|r| r.status);
        assert_eq!(refused(form, "email=a%40b.c&password=x&password=y"), Some(400), "a field given twice");
        assert_eq!(refused(form, "email=a%40b.c&password=x&admin=1"), Some(400), "an unexpected field");
        assert_eq!(refused(form, "email=a%40b.c"), Some(400), "a missing field");
        assert_eq!(refused("text/plain", "email=a"), Some(415));
    }
}
