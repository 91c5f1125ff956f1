//! The security-event chain's verification, outside the app: every row of `security_events`, in id order, must
//! link to the one before (`prev_hash`, 64 zeros for the first) and carry `hash = SHA-256(prev_hash "\n" kind "\n"
//! user "\n" at "\n" session "\n" detail "\n" personal_digest)` (the app's `store/events.rs` writes it so); and every
//! personal-data row still there must match the digest the chain covers (`SHA-256(salt "\n" ip "\n" user agent)`,
//! with `"\n" location` when one is known). [`verify`] reports the first break; [`sqlite_rows`] and
//! [`postgres_rows`] read a database as the app leaves it.

use sha2::{Digest, Sha256};

/// The chain's starting `prev_hash`.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One event as stored, with its personal data when it was not erased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Its id.
    pub id: i64,
    /// Whose (empty: none).
    pub user_id: String,
    /// Its kind.
    pub kind: String,
    /// When (Unix seconds).
    pub at: i64,
    /// Which session (empty: none).
    pub session_id: String,
    /// Its detail, JSON text.
    pub detail: String,
    /// The digest of its personal data.
    pub personal_digest: String,
    /// The hash of the event before.
    pub prev_hash: String,
    /// Its hash.
    pub hash: String,
    /// Salt, address, user agent and location, unless erased.
    pub personal: Option<(Vec<u8>, String, String, String)>,
}

/// What verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every link and hash holds: how many events, and the last hash (to keep as an anchor elsewhere).
    Intact {
        /// The events checked.
        events: usize,
        /// The newest hash.
        last_hash: String,
    },
    /// The first event that breaks the chain, and why.
    Broken {
        /// Its id.
        id: i64,
        /// What is wrong.
        why: String,
    },
}

fn hex_sha256(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for (index, part) in parts.iter().enumerate() {
        if index > 0 {
            hasher.update(b"\n");
        }
        hasher.update(part);
    }
    data_encoding::HEXLOWER.encode(&hasher.finalize())
}

/// Verifies `rows`, in id order.
pub fn verify(rows: &[Row]) -> Verdict {
    let mut previous = GENESIS.to_owned();
    for row in rows {
        if row.prev_hash != previous {
            return Verdict::Broken { id: row.id, why: "prev_hash is not the hash of the event before".into() };
        }
        let at = row.at.to_string();
        let expected = hex_sha256(&[
            row.prev_hash.as_bytes(),
            row.kind.as_bytes(),
            row.user_id.as_bytes(),
            at.as_bytes(),
            row.session_id.as_bytes(),
            row.detail.as_bytes(),
            row.personal_digest.as_bytes(),
        ]);
        if row.hash != expected {
            return Verdict::Broken { id: row.id, why: "the hash is not the SHA-256 of the row".into() };
        }
        if let Some((salt, ip, user_agent, location)) = &row.personal {
            let mut parts: Vec<&[u8]> = vec![salt, ip.as_bytes(), user_agent.as_bytes()];
            if !location.is_empty() {
                parts.push(location.as_bytes());
            }
            if hex_sha256(&parts) != row.personal_digest {
                return Verdict::Broken { id: row.id, why: "the personal data is not what the chain covers".into() };
            }
        }
        previous.clone_from(&row.hash);
    }
    Verdict::Intact { events: rows.len(), last_hash: previous }
}

/// The query both databases answer: every event, oldest first, with its personal data if any.
const QUERY: &str = "SELECT e.id, coalesce(e.user_id, ''), e.kind, e.at, coalesce(e.session_id, ''), e.detail, \
                     e.personal_digest, e.prev_hash, e.hash, p.salt, p.ip, p.user_agent, p.location \
                     FROM security_events e LEFT JOIN security_event_personal p ON p.event_id = e.id ORDER BY e.id";

/// The events of the SQLite database at `path`, read only.
pub fn sqlite_rows(path: &str) -> anyhow::Result<Vec<Row>> {
    let db = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut statement = db.prepare(QUERY)?;
    let rows = statement.query_map([], |r| {
        let salt: Option<Vec<u8>> = r.get(9)?;
        Ok(Row {
            id: r.get(0)?,
            user_id: r.get(1)?,
            kind: r.get(2)?,
            at: r.get(3)?,
            session_id: r.get(4)?,
            detail: r.get(5)?,
            personal_digest: r.get(6)?,
            prev_hash: r.get(7)?,
            hash: r.get(8)?,
            personal: match salt {
                Some(salt) => Some((salt, r.get(10)?, r.get(11)?, r.get(12)?)),
                None => None,
            },
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The events of the Postgres database at `url` (plain TCP or a local socket).
pub fn postgres_rows(url: &str) -> anyhow::Result<Vec<Row>> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
        let driver = tokio::spawn(connection);
        let rows = client.query(QUERY, &[]).await?;
        drop(client);
        let _ = driver.await;
        rows.iter()
            .map(|r| {
                let salt: Option<Vec<u8>> = r.try_get(9)?;
                Ok(Row {
                    id: r.try_get(0)?,
                    user_id: r.try_get(1)?,
                    kind: r.try_get(2)?,
                    at: r.try_get(3)?,
                    session_id: r.try_get(4)?,
                    detail: r.try_get(5)?,
                    personal_digest: r.try_get(6)?,
                    prev_hash: r.try_get(7)?,
                    hash: r.try_get(8)?,
                    personal: match salt {
                        Some(salt) => Some((salt, r.try_get(10)?, r.try_get(11)?, r.try_get(12)?)),
                        None => None,
                    },
                })
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chained(count: i64) -> Vec<Row> {
        let mut previous = GENESIS.to_owned();
        (1..=count)
            .map(|id| {
                let digest = hex_sha256(&[b"salt", b"203.0.113.5", b"curl"]);
                let at = (1000 + id).to_string();
                let hash = hex_sha256(&[
                    previous.as_bytes(),
                    b"login_succeeded",
                    b"u1",
                    at.as_bytes(),
                    b"",
                    b"{}",
                    digest.as_bytes(),
                ]);
                let row = Row {
                    id,
                    user_id: "u1".into(),
                    kind: "login_succeeded".into(),
                    at: 1000 + id,
                    session_id: String::new(),
                    detail: "{}".into(),
                    personal_digest: digest,
                    prev_hash: previous.clone(),
                    hash: hash.clone(),
                    personal: Some((b"salt".to_vec(), "203.0.113.5".into(), "curl".into(), String::new())),
                };
                previous = hash;
                row
            })
            .collect()
    }

    #[test]
    fn an_intact_chain_verifies_and_each_kind_of_break_is_named() {
        let rows = chained(3);
        assert_eq!(verify(&rows), Verdict::Intact { events: 3, last_hash: rows[2].hash.clone() });
        let mut edited = rows.clone();
        edited[1].detail = r#"{"x":1}"#.into();
        assert!(matches!(verify(&edited), Verdict::Broken { id: 2, .. }));
        let mut removed = rows.clone();
        removed.remove(1);
        assert!(matches!(verify(&removed), Verdict::Broken { id: 3, .. }));
        let mut personal = rows.clone();
        personal[0].personal = Some((b"salt".to_vec(), "198.51.100.1".into(), "curl".into(), String::new()));
        assert!(matches!(verify(&personal), Verdict::Broken { id: 1, .. }));
        let mut erased = rows;
        erased[0].personal = None;
        assert!(matches!(verify(&erased), Verdict::Intact { events: 3, .. }));
    }
}
