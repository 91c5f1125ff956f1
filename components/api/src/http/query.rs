//! Query parameters: integers within their documented bounds (a missing one takes its default; a malformed or out
//! of range one, or one given twice, is 400 `invalid_field` naming it). Unknown parameters are ignored.

use super::{Reply, Request};

/// Query parameter `name` of `request` as an integer in `min..=max`, or `default` when absent.
pub fn integer(request: &Request, name: &str, default: i64, min: i64, max: i64) -> Result<i64, Reply> {
    let mut values = form_urlencoded::parse(request.query.as_bytes()).filter(|(key, _)| key == name);
    let Some((_, first)) = values.next() else { return Ok(default) };
    let refused = || Reply::error(400, "invalid_field", &format!("{name} must be one integer from {min} to {max}"));
    if values.next().is_some() {
        return Err(refused());
    }
    match first.trim().parse::<i64>() {
        Ok(value) if (min..=max).contains(&value) => Ok(value),
        _ => Err(refused()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_query(query: &str) -> Request {
        Request { query: query.into(), ..Request::default() }
    }

    #[test]
    fn integers_are_bounded_and_given_once() {
        assert_eq!(integer(&with_query(""), "limit", 100, 1, 1000).unwrap(), 100);
        assert_eq!(integer(&with_query("after=7&limit=50"), "limit", 100, 1, 1000).unwrap(), 50);
        assert_eq!(integer(&with_query("other=x&after=0"), "after", 5, 0, i64::MAX).unwrap(), 0);
        for bad in ["limit=0", "limit=1001", "limit=abc", "limit=", "limit=1&limit=2", "limit=99999999999999999999"] {
            let refused = integer(&with_query(bad), "limit", 100, 1, 1000).unwrap_err();
            assert_eq!(refused.status, 400, "{bad}");
        }
    }
}
