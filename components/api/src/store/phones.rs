//! SMS phones as stored: `mfa_configurations` rows of kind `sms`, holding the number in E.164 form (validated by
//! mfa:core's `phone`) and whether the user confirmed it with a code.

use super::sql::{Db, DbError, SqlValue};

/// A phone second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    /// Its id.
    pub id: String,
    /// Whose.
    pub user_id: String,
    /// The number, E.164.
    pub e164: String,
    /// Its country calling code (`+44`).
    pub country_code: String,
    /// Whether it was confirmed.
    pub enabled: bool,
    /// When it was added.
    pub created_at: i64,
    /// When it was confirmed.
    pub confirmed_at: Option<i64>,
}

impl Phone {
    /// The number as shown back: the country code and the last two digits (`+44 ••••••••23`).
    pub fn masked(&self) -> String {
        let digits = self.e164.trim_start_matches('+');
        let national = digits.len().saturating_sub(self.country_code.len().saturating_sub(1));
        let last: String = digits.chars().skip(digits.len().saturating_sub(2)).collect();
        format!("{} {}{last}", self.country_code, "•".repeat(national.saturating_sub(2)))
    }
}

const COLUMNS: &str = "SELECT id, user_id, phone, name, enabled, created_at, confirmed_at FROM mfa_configurations";

fn phone_of(row: &[SqlValue]) -> Option<Phone> {
    match row {
        [id, user, phone, country, enabled, created, confirmed] => Some(Phone {
            id: id.as_str()?.to_owned(),
            user_id: user.as_str()?.to_owned(),
            e164: phone.as_str()?.to_owned(),
            country_code: country.as_str().unwrap_or_default().to_owned(),
            enabled: enabled.as_bool()?,
            created_at: created.as_i64()?,
            confirmed_at: confirmed.as_i64(),
        }),
        _ => None,
    }
}

/// Stores a new, unconfirmed phone, voiding any other unconfirmed one of the user.
pub fn insert(db: &Db, phone: &Phone) -> Result<(), DbError> {
    db.execute(
        "DELETE FROM mfa_configurations WHERE user_id = $1 AND kind = 'sms' AND enabled = $2",
        &[SqlValue::Text(phone.user_id.clone()), SqlValue::Bool(false)],
    )?;
    // The country code is kept in `name` (a phone has no other name than its number).
    db.execute(
        "INSERT INTO mfa_configurations (id, user_id, kind, name, phone, enabled, created_at) \
         VALUES ($1, $2, 'sms', $3, $4, $5, $6)",
        &[
            SqlValue::Text(phone.id.clone()),
            SqlValue::Text(phone.user_id.clone()),
            SqlValue::Text(phone.country_code.clone()),
            SqlValue::Text(phone.e164.clone()),
            SqlValue::Bool(false),
            SqlValue::Int(phone.created_at),
        ],
    )?;
    Ok(())
}

/// The user's phone `id`, if it is theirs.
pub fn find(db: &Db, user_id: &str, id: &str) -> Result<Option<Phone>, DbError> {
    let rows = db.query(
        &format!("{COLUMNS} WHERE id = $1 AND user_id = $2 AND kind = 'sms'"),
        &[SqlValue::Text(id.to_owned()), SqlValue::Text(user_id.to_owned())],
    )?;
    Ok(rows.first().and_then(|row| phone_of(row)))
}

/// The user's phones (confirmed or not), oldest first.
pub fn list(db: &Db, user_id: &str) -> Result<Vec<Phone>, DbError> {
    let rows = db.query(
        &format!("{COLUMNS} WHERE user_id = $1 AND kind = 'sms' ORDER BY created_at, id"),
        &[SqlValue::Text(user_id.to_owned())],
    )?;
    Ok(rows.iter().filter_map(|row| phone_of(row)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_masked_number_shows_the_country_and_last_two_digits() {
        let phone = Phone {
            id: "p".into(),
            user_id: "u".into(),
            e164: "+447700900123".into(),
            country_code: "+44".into(),
            enabled: true,
            created_at: 0,
            confirmed_at: None,
        };
        assert_eq!(phone.masked(), "+44 ••••••••23");
    }
}
