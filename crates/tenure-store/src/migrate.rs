//! Embedded schema migrations, applied when a store opens.
//!
//! Each backend has its own DDL files (`migrations/{sqlite,postgres}/NNNN_name.sql`) with the same
//! numbers and meaning. Applied versions and a checksum of their text are kept in
//! `schema_migrations`, so an edited migration or a database newer than the binary is refused
//! instead of silently diverging. Migrating is safe when several processes open one database at
//! once: SQLite runs it inside `BEGIN IMMEDIATE`, PostgreSQL under a transaction-scoped advisory
//! lock, so the second process waits and then finds nothing left to do.

use sha2::{Digest, Sha256};

use crate::StoreError;
use crate::connect::{PgConn, quote_ident};
use crate::sql::{Conn, args};

/// One embedded migration.
struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../migrations/sqlite/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "usage_events",
        sql: include_str!("../migrations/sqlite/0002_usage_events.sql"),
    },
    Migration {
        version: 3,
        name: "subscriptions",
        sql: include_str!("../migrations/sqlite/0003_subscriptions.sql"),
    },
];

const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "usage_events",
        sql: include_str!("../migrations/postgres/0002_usage_events.sql"),
    },
    Migration {
        version: 3,
        name: "subscriptions",
        sql: include_str!("../migrations/postgres/0003_subscriptions.sql"),
    },
];

const SCHEMA_MIGRATIONS_DDL: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version  BIGINT NOT NULL PRIMARY KEY,
    name     TEXT   NOT NULL,
    checksum TEXT   NOT NULL
)";

/// Brings a SQLite database up to date, in one `BEGIN IMMEDIATE` transaction.
pub(crate) fn sqlite(conn: &mut rusqlite::Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut conn = Conn::Sqlite(tx);
    apply(&mut conn, SQLITE)?;
    conn.commit()
}

/// Brings a PostgreSQL database (and schema) up to date, in one transaction holding an advisory
/// lock derived from the schema name, so concurrent openers of one schema take turns.
pub(crate) fn postgres(pg: &mut PgConn, schema: Option<&str>) -> Result<(), StoreError> {
    let PgConn { client, statements } = pg;
    let tx = client.transaction()?;
    let mut conn = Conn::Postgres { tx, statements };
    conn.batch(&format!(
        "SELECT pg_advisory_xact_lock({})",
        advisory_lock_key(schema)
    ))?;
    if let Some(schema) = schema {
        conn.batch(&format!(
            "CREATE SCHEMA IF NOT EXISTS {}",
            quote_ident(schema)
        ))?;
    }
    apply(&mut conn, POSTGRES)?;
    conn.commit()
}

fn apply(conn: &mut Conn<'_>, migrations: &[Migration]) -> Result<(), StoreError> {
    conn.batch(SCHEMA_MIGRATIONS_DDL)?;
    let mut applied = Vec::new();
    for mut row in conn.query(
        "SELECT version, checksum FROM schema_migrations ORDER BY version",
        &[],
    )? {
        applied.push((row.int()?, row.text()?));
    }
    let newest_known = migrations.last().map_or(0, |m| m.version);
    for (version, checksum) in &applied {
        match migrations.iter().find(|m| m.version == *version) {
            Some(m) if checksum_of(m.sql) == *checksum => {}
            Some(m) => {
                return Err(StoreError::Migration(format!(
                    "migration {:04}_{} differs from the one applied to this database",
                    m.version, m.name
                )));
            }
            None if *version > newest_known => {
                return Err(StoreError::Migration(format!(
                    "database schema version {version} is newer than this binary \
                     (knows up to {newest_known})"
                )));
            }
            None => {
                return Err(StoreError::Migration(format!(
                    "database has migration {version} that this binary does not know"
                )));
            }
        }
    }
    for m in migrations {
        if applied.iter().any(|(version, _)| *version == m.version) {
            continue;
        }
        tracing::info!(version = m.version, name = m.name, "applying migration");
        conn.batch(m.sql)?;
        let checksum = checksum_of(m.sql);
        conn.execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES (?, ?, ?)",
            args![m.version, m.name, &checksum],
        )?;
    }
    Ok(())
}

fn checksum_of(sql: &str) -> String {
    hex::encode(Sha256::digest(sql.as_bytes()))
}

/// A stable 64-bit advisory lock key for migrating one schema.
fn advisory_lock_key(schema: Option<&str>) -> i64 {
    let digest = Sha256::digest(format!("tenure-store migrate {}", schema.unwrap_or("")));
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}
