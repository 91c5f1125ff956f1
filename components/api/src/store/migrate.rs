//! Schema migrations: the numbered SQL files in `migrations/` (one set for Postgres, one for SQLite), applied in
//! order by `POST /v1/admin/migrate` and recorded in `schema_migrations`. Applying is idempotent and runs in one
//! transaction; on Postgres it first takes `pg_advisory_xact_lock`, so two instances migrating at once apply each
//! migration exactly once; on SQLite `BEGIN IMMEDIATE` does the same. `/readyz` fails until the schema is current.

use super::sql::{Db, DbError, SqlValue};

/// One migration.
#[derive(Debug)]
pub struct Migration {
    /// Its number; applied in increasing order.
    pub version: i64,
    /// A short name.
    pub name: &'static str,
    /// The Postgres statements.
    pub postgres: &'static str,
    /// The SQLite statements.
    pub sqlite: &'static str,
}

/// Every migration, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "accounts_sessions_events",
        postgres: include_str!("../../../../migrations/postgres/0001_accounts_sessions_events.sql"),
        sqlite: include_str!("../../../../migrations/sqlite/0001_accounts_sessions_events.sql"),
    },
    Migration {
        version: 2,
        name: "devices_and_throttles",
        postgres: include_str!("../../../../migrations/postgres/0002_devices_and_throttles.sql"),
        sqlite: include_str!("../../../../migrations/sqlite/0002_devices_and_throttles.sql"),
    },
    Migration {
        version: 3,
        name: "login_challenges",
        postgres: include_str!("../../../../migrations/postgres/0003_login_challenges.sql"),
        sqlite: include_str!("../../../../migrations/sqlite/0003_login_challenges.sql"),
    },
    Migration {
        version: 4,
        name: "second_factors",
        postgres: include_str!("../../../../migrations/postgres/0004_second_factors.sql"),
        sqlite: include_str!("../../../../migrations/sqlite/0004_second_factors.sql"),
    },
    Migration {
        version: 5,
        name: "app_metrics",
        postgres: include_str!("../../../../migrations/postgres/0005_app_metrics.sql"),
        sqlite: include_str!("../../../../migrations/sqlite/0005_app_metrics.sql"),
    },
    Migration {
        version: 6,
        name: "redis_fallback",
        postgres: include_str!("../../../../migrations/postgres/0006_redis_fallback.sql"),
        sqlite: include_str!("../../../../migrations/sqlite/0006_redis_fallback.sql"),
    },
    Migration {
        version: 7,
        name: "event_append_function",
        postgres: include_str!("../../../../migrations/postgres/0007_event_append_function.sql"),
        sqlite: include_str!("../../../../migrations/sqlite/0007_event_append_function.sql"),
    },
    Migration {
        version: 8,
        name: "consent_and_location",
        postgres: include_str!("../../../../migrations/postgres/0008_consent_and_location.sql"),
        sqlite: include_str!("../../../../migrations/sqlite/0008_consent_and_location.sql"),
    },
    Migration {
        version: 9,
        name: "passkeys",
        postgres: include_str!("../../../../migrations/postgres/0009_passkeys.sql"),
        sqlite: include_str!("../../../../migrations/sqlite/0009_passkeys.sql"),
    },
    Migration {
        version: 10,
        name: "event_counts",
        postgres: include_str!("../../../../migrations/postgres/0010_event_counts.sql"),
        sqlite: include_str!("../../../../migrations/sqlite/0010_event_counts.sql"),
    },
];

/// The advisory lock key migrations hold on Postgres ("mfa-migr" as a big-endian integer).
const LOCK_KEY: i64 = 0x6d66_612d_6d69_6772;

/// The newest schema version this build knows.
pub fn latest() -> i64 {
    MIGRATIONS.iter().map(|m| m.version).max().unwrap_or(0)
}

/// The statements of a migration file: `--` comment lines dropped, split at each `;` that ends a line outside a
/// `$$`-quoted body (a function's).
pub fn statements(sql: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current = String::new();
    for line in sql.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("--") || trimmed.is_empty() {
            continue;
        }
        current.push_str(line);
        current.push('\n');
        let in_body = current.matches("$$").count() % 2 == 1;
        if trimmed.ends_with(';') && !in_body {
            let statement = current.trim().trim_end_matches(';').trim().to_owned();
            if !statement.is_empty() {
                statements.push(statement);
            }
            current.clear();
        }
    }
    if !current.trim().is_empty() {
        statements.push(current.trim().to_owned());
    }
    statements
}

/// The schema version the database is at (0 before any migration).
pub fn current(db: &Db) -> Result<i64, DbError> {
    let exists = if db.is_postgres() {
        db.query("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])?
    } else {
        db.query("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'", &[])?
    };
    let exists = exists.first().and_then(|row| row.first()).and_then(SqlValue::as_bool).unwrap_or(false);
    if !exists {
        return Ok(0);
    }
    let rows = db.query("SELECT coalesce(max(version), 0) FROM schema_migrations", &[])?;
    Ok(rows.first().and_then(|row| row.first()).and_then(SqlValue::as_i64).unwrap_or(0))
}

/// Applies every pending migration; returns the versions applied now (empty when already current).
pub fn migrate(db: &Db, now: i64) -> Result<Vec<i64>, DbError> {
    db.transaction(|| apply_pending(db, now))
}

fn apply_pending(db: &Db, now: i64) -> Result<Vec<i64>, DbError> {
    if db.is_postgres() {
        db.query("SELECT pg_advisory_xact_lock($1)::text", &[SqlValue::Int(LOCK_KEY)])?;
    }
    db.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, \
         applied_at BIGINT NOT NULL)",
        &[],
    )?;
    let applied: Vec<i64> =
        db.query("SELECT version FROM schema_migrations", &[])?.iter().filter_map(|r| r.first()?.as_i64()).collect();
    let mut now_applied = Vec::new();
    for migration in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
        let sql = if db.is_postgres() { migration.postgres } else { migration.sqlite };
        for statement in statements(sql) {
            db.execute(&statement, &[])?;
        }
        db.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            &[SqlValue::Int(migration.version), SqlValue::Text(migration.name.to_owned()), SqlValue::Int(now)],
        )?;
        now_applied.push(migration.version);
    }
    Ok(now_applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_split_into_statements() {
        let sql =
            "-- a comment; with a semicolon\nCREATE TABLE a (\n  x BIGINT -- inline\n);\n\nCREATE INDEX i ON a (x);\n";
        assert_eq!(statements(sql), ["CREATE TABLE a (\n  x BIGINT -- inline\n)", "CREATE INDEX i ON a (x)"]);
        let function =
            "CREATE FUNCTION f() RETURNS BIGINT LANGUAGE plpgsql AS $$\nBEGIN\n  RETURN 1;\nEND;\n$$;\nSELECT 1;\n";
        assert_eq!(
            statements(function),
            ["CREATE FUNCTION f() RETURNS BIGINT LANGUAGE plpgsql AS $$\nBEGIN\n  RETURN 1;\nEND;\n$$", "SELECT 1"]
        );
    }

    #[test]
    fn migrations_are_numbered_in_order_and_both_dialects_have_the_same_tables() {
        for (index, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(migration.version, i64::try_from(index).unwrap() + 1);
            let tables = |sql: &str| -> Vec<String> {
                statements(sql)
                    .iter()
                    .filter_map(|s| {
                        s.strip_prefix("CREATE TABLE ").map(|r| r.split_whitespace().next().unwrap().to_owned())
                    })
                    .collect()
            };
            // The tables one backend has and the other needs not: throttle counters (SQLite's from the start,
            // Postgres' for a Redis outage) and what a Redis outage leaves to reconcile.
            let shared = |sql: &str| -> Vec<String> {
                tables(sql)
                    .into_iter()
                    .filter(|table| !["throttle_counters", "redis_repairs", "redis_outages"].contains(&table.as_str()))
                    .collect()
            };
            assert_eq!(shared(migration.postgres), shared(migration.sqlite), "{}", migration.name);
            assert!(statements(migration.postgres).iter().any(|s| s.starts_with("CREATE ")), "{}", migration.name);
        }
        assert_eq!(latest(), i64::try_from(MIGRATIONS.len()).unwrap());
    }
}
