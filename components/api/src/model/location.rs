//! Where a client is, as a trusted proxy (a CDN or load balancer) reported it: a country (ISO 3166-1 alpha-2) and,
//! where given, a region and a city. Empty parts are unknown; a location is kept only in checked form.

use serde_json::{Value, json};

/// The longest region or city kept, in characters.
const MAX_PLACE: usize = 64;

/// A client's location; every part empty when nobody trusted said it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// ISO 3166-1 alpha-2, upper case (Cloudflare's `T1`, Tor, kept as such).
    pub country: String,
    /// A region (state, province), if given.
    pub region: String,
    /// A city, if given.
    pub city: String,
}

impl Location {
    /// A location from the reported parts, each checked: a country is two ASCII letters or digits (`XX`, unknown,
    /// is none); a region or city at most 64 characters without control characters. A part that fails is left
    /// unknown. Without a country, region and city are dropped too (they mean little alone).
    pub fn reported(country: Option<&str>, region: Option<&str>, city: Option<&str>) -> Self {
        let country = country.map(str::trim).unwrap_or("").to_ascii_uppercase();
        let usable = country.len() == 2 && country.bytes().all(|b| b.is_ascii_alphanumeric()) && country != "XX";
        if !usable {
            return Self::default();
        }
        let place = |part: Option<&str>| {
            let part = part.map(str::trim).unwrap_or("");
            if usable_place(part) { part.to_owned() } else { String::new() }
        };
        Self { country, region: place(region), city: place(city) }
    }

    /// A location a product's backend states (the service API): unlike [`Location::reported`], a part that is
    /// unusable refuses the whole (`None`): a country must be exactly two ASCII letters or digits (`XX`: unknown),
    /// a region or city at most 64 characters without control characters.
    pub fn stated(country: &str, region: Option<&str>, city: Option<&str>) -> Option<Self> {
        let usable_country = country.len() == 2 && country.bytes().all(|b| b.is_ascii_alphanumeric());
        let usable = usable_country && region.is_none_or(usable_place) && city.is_none_or(usable_place);
        usable.then(|| Self::reported(Some(country), region, city))
    }

    /// Whether nothing is known.
    pub fn is_unknown(&self) -> bool {
        self.country.is_empty()
    }

    /// As the API shows it: `{"country", "region", "city"}` (unknown parts `null`), or `null` when unknown.
    pub fn to_json(&self) -> Value {
        if self.is_unknown() {
            return Value::Null;
        }
        let part = |text: &str| if text.is_empty() { Value::Null } else { json!(text) };
        json!({"country": self.country, "region": part(&self.region), "city": part(&self.city)})
    }

    /// As one text for an event's personal data (`to_json` as text; empty when unknown).
    pub fn to_text(&self) -> String {
        if self.is_unknown() { String::new() } else { self.to_json().to_string() }
    }
}

/// Whether `part` can be kept as a region or city: at most [`MAX_PLACE`] characters, no control character.
fn usable_place(part: &str) -> bool {
    part.chars().count() <= MAX_PLACE && !part.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reported_parts_are_checked() {
        let munich = Location::reported(Some(" de "), Some("Bavaria"), Some("Munich"));
        assert_eq!(
            (munich.country.as_str(), munich.region.as_str(), munich.city.as_str()),
            ("DE", "Bavaria", "Munich")
        );
        assert_eq!(munich.to_json(), json!({"country": "DE", "region": "Bavaria", "city": "Munich"}));
        assert_eq!(munich.to_text(), r#"{"city":"Munich","country":"DE","region":"Bavaria"}"#);
        for country in [None, Some(""), Some("XX"), Some("DEU"), Some("D"), Some("D-"), Some("ÄÖ")] {
            assert!(Location::reported(country, Some("Bavaria"), None).is_unknown(), "{country:?}");
        }
        let odd = Location::reported(Some("T1"), Some(&"r".repeat(65)), Some("a\nb"));
        assert_eq!((odd.country.as_str(), odd.region.as_str(), odd.city.as_str()), ("T1", "", ""));
        assert_eq!(odd.to_json(), json!({"country": "T1", "region": null, "city": null}));
        assert_eq!(Location::default().to_json(), Value::Null);
        // Stated by a product: all or nothing.
        assert_eq!(Location::stated("de", Some(" Bavaria "), None).map(|l| l.region), Some("Bavaria".to_owned()));
        assert_eq!(Location::stated("XX", None, None), Some(Location::default()));
        for (country, region) in [(" DE", None), ("DEU", None), ("DE", Some("a\u{7}b")), ("DE", Some(&*"r".repeat(65)))]
        {
            assert_eq!(Location::stated(country, region, None), None, "{country:?} {region:?}");
        }
        assert_eq!(Location::default().to_text(), "");
    }
}
