//! Accounts as stored (`users`): email and password hash for users who registered, external id for users the
//! product's backend created.

use super::sql::{Db, DbError, FromRow, SqlValue, texts};

/// A user as the service API shows one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The user id.
    pub id: String,
    /// The product's id, if the product created or linked the user.
    pub external_id: Option<String>,
    /// The email, if any.
    pub email: Option<String>,
    /// When created.
    pub created_at: i64,
}

impl FromRow for User {
    fn from_row(row: &[SqlValue]) -> Option<Self> {
        let (id, external_id, email, created_at) = FromRow::from_row(row)?;
        Some(Self { id, external_id, email, created_at })
    }
}

const USER_COLUMNS: &str = "SELECT id, external_id, email, created_at FROM users";

/// A user's credentials: the email and the password hash (none for a user without a password).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user id.
    pub id: String,
    /// The email (empty for a user without one).
    pub email: String,
    /// The PHC string of the password, if the user has one.
    pub password_hash: Option<String>,
}

/// The user with a password registered under `email`.
pub fn with_password(db: &Db, email: &str) -> Result<Option<Credentials>, DbError> {
    let found: Option<(String, String)> =
        db.row("SELECT id, password_hash FROM users WHERE email = $1 AND password_hash IS NOT NULL", &texts(&[email]))?;
    Ok(found.map(|(id, hash)| Credentials { id, email: email.to_owned(), password_hash: Some(hash) }))
}

/// The credentials of user `id`.
pub fn credentials(db: &Db, id: &str) -> Result<Option<Credentials>, DbError> {
    let found: Option<(Option<String>, Option<String>)> =
        db.row("SELECT email, password_hash FROM users WHERE id = $1", &texts(&[id]))?;
    Ok(found.map(|(email, password_hash)| Credentials {
        id: id.to_owned(),
        email: email.unwrap_or_default(),
        password_hash,
    }))
}

/// The id of the user registered under `email`.
pub fn id_by_email(db: &Db, email: &str) -> Result<Option<String>, DbError> {
    Ok(db.row::<(String,)>("SELECT id FROM users WHERE email = $1", &texts(&[email]))?.map(|(id,)| id))
}

/// Stores a new user registered with `email` and password hash `hash`; [`DbError::Conflict`] when the email is
/// taken.
pub fn register(db: &Db, id: &str, email: &str, hash: &str, now: i64) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO users (id, email, password_hash, created_at, updated_at, password_changed_at) \
         VALUES ($1, $2, $3, $4, $4, $4)",
        &[
            SqlValue::Text(id.to_owned()),
            SqlValue::Text(email.to_owned()),
            SqlValue::Text(hash.to_owned()),
            SqlValue::Int(now),
        ],
    )?;
    Ok(())
}

/// Replaces user `id`'s password hash.
pub fn set_password(db: &Db, id: &str, hash: &str, now: i64) -> Result<(), DbError> {
    db.execute(
        "UPDATE users SET password_hash = $1, password_changed_at = $2, updated_at = $2 WHERE id = $3",
        &[SqlValue::Text(hash.to_owned()), SqlValue::Int(now), SqlValue::Text(id.to_owned())],
    )?;
    Ok(())
}

/// Stores a new user the product created (no password); [`DbError::Conflict`] when the external id or the email is
/// taken.
pub fn create_external(db: &Db, id: &str, external_id: &str, email: Option<&str>, now: i64) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO users (id, external_id, email, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)",
        &[
            SqlValue::Text(id.to_owned()),
            SqlValue::Text(external_id.to_owned()),
            email.map_or(SqlValue::Null, |email| SqlValue::Text(email.to_owned())),
            SqlValue::Int(now),
        ],
    )?;
    Ok(())
}

/// Sets (or with `None` removes) user `id`'s external id; [`DbError::Conflict`] when another user has it.
pub fn set_external(db: &Db, id: &str, external_id: Option<&str>, now: i64) -> Result<(), DbError> {
    db.execute(
        "UPDATE users SET external_id = $1, updated_at = $2 WHERE id = $3",
        &[
            external_id.map_or(SqlValue::Null, |external_id| SqlValue::Text(external_id.to_owned())),
            SqlValue::Int(now),
            SqlValue::Text(id.to_owned()),
        ],
    )?;
    Ok(())
}

/// The user registered (or created) with `email`.
pub fn find_by_email(db: &Db, email: &str) -> Result<Option<User>, DbError> {
    db.row(&format!("{USER_COLUMNS} WHERE email = $1"), &texts(&[email]))
}

/// User `id`.
pub fn find(db: &Db, id: &str) -> Result<Option<User>, DbError> {
    db.row(&format!("{USER_COLUMNS} WHERE id = $1"), &texts(&[id]))
}

/// The user with the product's id `external_id`.
pub fn find_external(db: &Db, external_id: &str) -> Result<Option<User>, DbError> {
    db.row(&format!("{USER_COLUMNS} WHERE external_id = $1"), &texts(&[external_id]))
}

/// The name an authenticator app shows for user `id`'s account: the email, else the product's id.
pub fn account_name(db: &Db, id: &str) -> Result<Option<String>, DbError> {
    let found: Option<(Option<String>, Option<String>)> =
        db.row("SELECT email, external_id FROM users WHERE id = $1", &texts(&[id]))?;
    Ok(found.and_then(|(email, external_id)| email.or(external_id)))
}

/// How many users have a confirmed second factor, among how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FactorCounts {
    /// Every user.
    pub users: i64,
    /// Users with a confirmed second factor.
    pub with_factor: i64,
    /// Users without one, created after the time asked about.
    pub without_factor_created_after: i64,
}

/// The [`FactorCounts`] now, counting users without a factor created after `created_after`.
pub fn factor_counts(db: &Db, created_after: i64) -> Result<FactorCounts, DbError> {
    let counted: Option<(i64, i64, i64)> = db.row(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN f.user_id IS NULL THEN 0 ELSE 1 END), 0), \
         COALESCE(SUM(CASE WHEN f.user_id IS NULL AND u.created_at > $2 THEN 1 ELSE 0 END), 0) FROM users u \
         LEFT JOIN (SELECT DISTINCT user_id FROM mfa_configurations WHERE enabled = $1) f ON f.user_id = u.id",
        &[SqlValue::Bool(true), SqlValue::Int(created_after)],
    )?;
    Ok(counted.map_or_else(FactorCounts::default, |(users, with_factor, without_factor_created_after)| FactorCounts {
        users,
        with_factor,
        without_factor_created_after,
    }))
}
