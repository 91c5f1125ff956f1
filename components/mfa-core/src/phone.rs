//! Phone numbers in [E.164] form: `+`, a country calling code, then the national number, 7 to 15 digits in all.
//!
//! Only the `+` form is accepted: national formats and `00`/`011` prefixes depend on where the user is, and
//! guessing wrong sends a code to a stranger. Country calling codes are prefix-free, so the first one to three
//! digits name exactly one; unassigned codes are refused.
//!
//! [E.164]: https://www.itu.int/rec/T-REC-E.164

/// Fewest digits in a number.
pub const MIN_DIGITS: usize = 7;
/// Most digits in a number (E.164 §6).
pub const MAX_DIGITS: usize = 15;

/// Two-digit country calling codes (ITU-T E.164 assignments).
const TWO_DIGIT_CODES: &[u16] = &[
    20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54, 55, 56, 57, 58, 60, 61, 62,
    63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98,
];

/// Assigned three-digit country calling codes, including global services (800, 808, 870, 881-883, 888, 979).
const THREE_DIGIT_CODES: &[u16] = &[
    211, 212, 213, 216, 218, 220, 221, 222, 223, 224, 225, 226, 227, 228, 229, 230, 231, 232, 233, 234, 235, 236, 237,
    238, 239, 240, 241, 242, 243, 244, 245, 246, 247, 248, 249, 250, 251, 252, 253, 254, 255, 256, 257, 258, 260, 261,
    262, 263, 264, 265, 266, 267, 268, 269, 290, 291, 297, 298, 299, 350, 351, 352, 353, 354, 355, 356, 357, 358, 359,
    370, 371, 372, 373, 374, 375, 376, 377, 378, 380, 381, 382, 383, 385, 386, 387, 389, 420, 421, 423, 500, 501, 502,
    503, 504, 505, 506, 507, 508, 509, 590, 591, 592, 593, 594, 595, 596, 597, 598, 599, 670, 672, 673, 674, 675, 676,
    677, 678, 679, 680, 681, 682, 683, 685, 686, 687, 688, 689, 690, 691, 692, 800, 808, 850, 852, 853, 855, 856, 870,
    880, 881, 882, 883, 886, 888, 960, 961, 962, 963, 964, 965, 966, 967, 968, 970, 971, 972, 973, 974, 975, 976, 977,
    979, 992, 993, 994, 995, 996, 997, 998,
];

/// A valid number in E.164 form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhoneNumber {
    /// `+` and 7 to 15 digits.
    pub e164: String,
    /// The country calling code with its `+`.
    pub country_code: String,
}

/// Why a text is not an E.164 number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Nothing but whitespace.
    #[error("the phone number is empty")]
    Empty,
    /// No leading `+`.
    #[error("the phone number must start with + and the country code")]
    MissingPlus,
    /// A character that is neither a digit nor a separator.
    #[error("the phone number contains a character other than digits and separators")]
    InvalidCharacter,
    /// A 0 right after the `+`.
    #[error("no country code starts with 0")]
    LeadingZero,
    /// Under 7 digits.
    #[error("the phone number is too short")]
    TooShort,
    /// Over 15 digits.
    #[error("the phone number is too long")]
    TooLong,
    /// No such country code.
    #[error("the country code is not assigned")]
    UnknownCountryCode,
}

/// Validates `input` and returns its E.164 form and country calling code.
pub fn normalize(input: &str) -> Result<PhoneNumber, PhoneError> {
    let input = input.trim();
    let rest = match input.strip_prefix('+') {
        Some(rest) => rest,
        None if input.is_empty() => return Err(PhoneError::Empty),
        None => return Err(PhoneError::MissingPlus),
    };
    let mut digits = String::with_capacity(MAX_DIGITS);
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => return Err(PhoneError::InvalidCharacter),
        }
    }
    if digits.starts_with('0') {
        return Err(PhoneError::LeadingZero);
    }
    if digits.len() < MIN_DIGITS {
        return Err(PhoneError::TooShort);
    }
    if digits.len() > MAX_DIGITS {
        return Err(PhoneError::TooLong);
    }
    let code_length = country_code_length(&digits).ok_or(PhoneError::UnknownCountryCode)?;
    let country_code = format!("+{}", digits.get(..code_length).unwrap_or_default());
    Ok(PhoneNumber { e164: format!("+{digits}"), country_code })
}

/// How many leading digits form the country calling code, if it is assigned.
fn country_code_length(digits: &str) -> Option<usize> {
    let prefix = |length: usize| digits.get(..length).and_then(|p| p.parse::<u16>().ok());
    match digits.as_bytes().first()? {
        b'1' | b'7' => Some(1),
        _ if TWO_DIGIT_CODES.contains(&prefix(2)?) => Some(2),
        _ if THREE_DIGIT_CODES.contains(&prefix(3)?) => Some(3),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str) -> (String, String) {
        let number = normalize(input).unwrap();
        (number.e164, number.country_code)
    }

    #[test]
    fn good_numbers_are_normalised_with_their_country_code() {
        let cases = [
            ("+14155552671", "+14155552671", "+1"),
            ("+1 (415) 555-2671", "+14155552671", "+1"),
            ("+44 20 7946 0958", "+442079460958", "+44"),
            ("+358.40.123.4567", "+358401234567", "+358"),
            ("  +7 912 345-67-89 ", "+79123456789", "+7"),
            ("+5511987654321", "+5511987654321", "+55"),
            ("+2348031234567", "+2348031234567", "+234"),
            ("+8613800138000", "+8613800138000", "+86"),
            ("+1234567", "+1234567", "+1"),
            ("+123456789012345", "+123456789012345", "+1"),
            ("+6797001234", "+6797001234", "+679"),
        ];
        for (input, e164, country) in cases {
            assert_eq!(ok(input), (e164.to_owned(), country.to_owned()), "{input}");
        }
    }

    #[test]
    fn bad_numbers_get_typed_errors() {
        let cases = [
            ("", PhoneError::Empty),
            ("   ", PhoneError::Empty),
            ("4155552671", PhoneError::MissingPlus),
            ("0044 20 7946 0958", PhoneError::MissingPlus),
            ("++14155552671", PhoneError::InvalidCharacter),
            ("+1 415 555 2671 ext 2", PhoneError::InvalidCharacter),
            ("+1/415/5552671", PhoneError::InvalidCharacter),
            ("+١٤١٥٥٥٥٢٦٧١", PhoneError::InvalidCharacter),
            ("+0441234567", PhoneError::LeadingZero),
            ("+123456", PhoneError::TooShort),
            ("+", PhoneError::TooShort),
            ("+1234567890123456", PhoneError::TooLong),
            ("+2101234567", PhoneError::UnknownCountryCode),
            ("+2801234567", PhoneError::UnknownCountryCode),
            ("+4221234567", PhoneError::UnknownCountryCode),
            ("+9991234567", PhoneError::UnknownCountryCode),
        ];
        for (input, error) in cases {
            assert_eq!(normalize(input), Err(error), "{input}");
        }
    }

    #[test]
    fn country_code_tables_are_prefix_free() {
        for two in TWO_DIGIT_CODES {
            assert!(!THREE_DIGIT_CODES.iter().any(|three| three / 10 == *two), "{two}");
            assert!(!matches!(two / 10, 1 | 7), "{two}");
        }
        for three in THREE_DIGIT_CODES {
            assert!(!matches!(three / 100, 1 | 7), "{three}");
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_input_never_panics(input in "\\PC{0,40}") {
            let _ = normalize(&input);
        }

        #[test]
        fn valid_numbers_keep_their_digits(digits in "[1-9][0-9]{6,14}") {
            if let Ok(number) = normalize(&format!("+{digits}")) {
                proptest::prop_assert_eq!(number.e164, format!("+{digits}"));
                proptest::prop_assert!(digits.starts_with(&number.country_code[1..]));
            }
        }
    }
}
