//! Database URLs and connections: which backend a URL names, how each connection is set up.
//!
//! Dialect differences live here (connection settings) and in `migrate.rs` (DDL), `sql.rs`
//! (placeholders, row decoding) and `tx.rs` (`FOR UPDATE`, `SKIP LOCKED`, table locks).

use std::path::PathBuf;
use std::time::Duration;

use rand::Rng;

use crate::StoreError;
use crate::sql::{PgStatements, SQLITE_STATEMENTS_CACHED_MAX};

/// How long a SQLite connection waits for another writer's lock before reporting busy.
pub(crate) const SQLITE_BUSY_TIMEOUT_MS: u64 = 5_000;

/// Shortest and longest pause, chosen at random, before a connection looks at a busy lock again.
const SQLITE_BUSY_PAUSE_US_MIN: u64 = 50;
const SQLITE_BUSY_PAUSE_US_MAX: u64 = 1_000;

/// Looks at a busy lock this many times, which with the average pause is about
/// [`SQLITE_BUSY_TIMEOUT_MS`].
const SQLITE_BUSY_LOOKS_MAX: u64 =
    SQLITE_BUSY_TIMEOUT_MS * 1_000 * 2 / (SQLITE_BUSY_PAUSE_US_MIN + SQLITE_BUSY_PAUSE_US_MAX);

/// SQLite's `synchronous` setting. FULL syncs the WAL on every commit, so a committed billing
/// decision survives a power cut; NORMAL is faster but may lose the last commits on power loss
/// (never corrupting the file). FULL until measurements say the cost matters.
pub(crate) const SQLITE_SYNCHRONOUS: &str = "FULL";

/// SQLite's page cache per connection, in KiB (SQLite's default is 2 MiB). The usage path looks up
/// and rewrites rows all over the accounts table and the indexes; with the default cache every
/// batch re-reads pages from the OS. Allocated as pages are touched, so idle readers cost little.
pub(crate) const SQLITE_CACHE_KIB: i64 = 64 * 1024;

/// WAL pages after which a commit copies the WAL back into the database file (SQLite's default
/// is 1,000). Usage batches rewrite the same account rows and index pages over and over; a
/// checkpoint copies each page once however often it was rewritten since the last one, so a
/// larger WAL between checkpoints copies far fewer pages (measured: checkpoints took a sixth of
/// the usage path's time at the default). The WAL grows to about this many pages × 4 KiB.
pub(crate) const SQLITE_WAL_AUTOCHECKPOINT_PAGES: i64 = 16_384;

/// Connections one SQLite file store pools (readers run in parallel under WAL; writers queue).
pub(crate) const SQLITE_POOL_CONNECTIONS_MAX: u32 = 8;

/// Connections one PostgreSQL store pools.
pub(crate) const PG_POOL_CONNECTIONS_MAX: u32 = 16;

/// How long a caller waits for a pooled connection before `StoreError::Pool`.
pub(crate) const POOL_CHECKOUT_TIMEOUT_MS: u64 = 30_000;

/// Connect timeout used when a PostgreSQL URL does not set `connect_timeout`.
pub(crate) const PG_CONNECT_TIMEOUT_MS: u64 = 10_000;

/// Longest schema name PostgreSQL keeps (NAMEDATALEN - 1).
const PG_SCHEMA_NAME_BYTES_MAX: usize = 63;

/// The database a URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    SqliteFile(PathBuf),
    SqliteMemory,
    Postgres {
        /// The URL without our `schema=` parameter, as the driver understands it.
        url: String,
        schema: Option<String>,
    },
}

impl Target {
    pub(crate) fn parse(url: &str) -> Result<Target, StoreError> {
        if url == "sqlite::memory:" || url == "sqlite://:memory:" || url == ":memory:" {
            return Ok(Target::SqliteMemory);
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            return sqlite_path(url, path);
        }
        if let Some(path) = url.strip_prefix("sqlite:") {
            return sqlite_path(url, path);
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let (url, schema) = strip_schema(url)?;
            return Ok(Target::Postgres { url, schema });
        }
        if url.contains("://") {
            return Err(StoreError::BadUrl(format!(
                "{url}: expected sqlite://PATH, sqlite::memory:, postgres://… or a file path"
            )));
        }
        sqlite_path(url, url)
    }
}

fn sqlite_path(url: &str, path: &str) -> Result<Target, StoreError> {
    if path.is_empty() {
        return Err(StoreError::BadUrl(format!("{url}: no SQLite file path")));
    }
    Ok(Target::SqliteFile(PathBuf::from(path)))
}

/// Splits our own `schema=NAME` query parameter off a PostgreSQL URL, since the driver rejects
/// parameters it does not know.
fn strip_schema(url: &str) -> Result<(String, Option<String>), StoreError> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), None));
    };
    let mut schema = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.strip_prefix("schema=") {
            Some(name) => {
                if schema.is_some() {
                    return Err(StoreError::BadUrl(format!("{url}: schema given twice")));
                }
                schema = Some(valid_schema(url, name)?);
            }
            None => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, schema))
}

/// Schema names are limited to ASCII letters, digits and `_` (not first) so that quoting them is
/// never in doubt.
fn valid_schema(url: &str, name: &str) -> Result<String, StoreError> {
    let ok = !name.is_empty()
        && name.len() <= PG_SCHEMA_NAME_BYTES_MAX
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit();
    if ok {
        Ok(name.to_owned())
    } else {
        Err(StoreError::BadUrl(format!(
            "{url}: schema must be 1 to {PG_SCHEMA_NAME_BYTES_MAX} ASCII letters, digits or _, \
             not starting with a digit"
        )))
    }
}

/// A double-quoted PostgreSQL identifier.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Per-connection SQLite settings: wait for locks, WAL, durable commits, foreign keys.
pub(crate) fn sqlite_init(conn: &mut rusqlite::Connection) -> Result<(), rusqlite::Error> {
    conn.busy_handler(Some(sqlite_busy))?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    if mode != "wal" && mode != "memory" {
        tracing::warn!(mode, "SQLite refused WAL journal mode");
    }
    conn.pragma_update(None, "synchronous", SQLITE_SYNCHRONOUS)?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.pragma_update(None, "cache_size", -SQLITE_CACHE_KIB)?;
    conn.pragma_update(None, "wal_autocheckpoint", SQLITE_WAL_AUTOCHECKPOINT_PAGES)?;
    conn.set_prepared_statement_cache_capacity(SQLITE_STATEMENTS_CACHED_MAX);
    Ok(())
}

/// SQLite's own busy handler (`busy_timeout`) sleeps up to 100 ms between looks at the lock. A
/// writer in another process that commits back to back holds the lock nearly all the time, and
/// the gaps between its transactions last microseconds, so a waiter that looks ten times a second
/// starves (seen in the two-process due-queue test: one worker ran 10,000 actions, the other
/// none). Looking again after a short random pause catches those gaps.
fn sqlite_busy(looks: i32) -> bool {
    if u64::try_from(looks).unwrap_or(u64::MAX) >= SQLITE_BUSY_LOOKS_MAX {
        return false;
    }
    let pause_us = rand::rng().random_range(SQLITE_BUSY_PAUSE_US_MIN..=SQLITE_BUSY_PAUSE_US_MAX);
    std::thread::sleep(Duration::from_micros(pause_us));
    true
}

/// One pooled PostgreSQL connection with its prepared statements.
pub(crate) struct PgConn {
    pub(crate) client: postgres::Client,
    pub(crate) statements: PgStatements,
}

/// r2d2 manager for [`PgConn`]: connects without TLS and points `search_path` at the URL's schema.
#[derive(Debug, Clone)]
pub(crate) struct PgManager {
    config: postgres::Config,
    schema: Option<String>,
}

impl PgManager {
    pub(crate) fn new(url: &str, schema: Option<String>) -> Result<PgManager, StoreError> {
        let mut config: postgres::Config = url
            .parse()
            .map_err(|e| StoreError::BadUrl(format!("postgres url: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_millis(PG_CONNECT_TIMEOUT_MS));
        }
        if config.get_application_name().is_none() {
            config.application_name("tenure");
        }
        Ok(PgManager { config, schema })
    }

    pub(crate) fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }
}

impl r2d2::ManageConnection for PgManager {
    type Connection = PgConn;
    /// [`StoreError`] rather than the driver's error, whose message omits the cause; r2d2 keeps
    /// only the message of the last failed connect.
    type Error = StoreError;

    fn connect(&self) -> Result<PgConn, StoreError> {
        let mut client = self.config.connect(postgres::NoTls)?;
        if let Some(schema) = &self.schema {
            // A schema that does not exist yet is allowed here; migration creates it.
            client.batch_execute(&format!("SET search_path TO {}", quote_ident(schema)))?;
        }
        Ok(PgConn {
            client,
            statements: PgStatements::new(),
        })
    }

    fn is_valid(&self, conn: &mut PgConn) -> Result<(), StoreError> {
        conn.client.simple_query("")?;
        Ok(())
    }

    fn has_broken(&self, conn: &mut PgConn) -> bool {
        conn.client.is_closed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_backend() {
        assert_eq!(
            Target::parse("sqlite::memory:").ok(),
            Some(Target::SqliteMemory)
        );
        assert_eq!(
            Target::parse("sqlite:///var/db/t.sqlite").ok(),
            Some(Target::SqliteFile("/var/db/t.sqlite".into()))
        );
        assert_eq!(
            Target::parse("data/t.db").ok(),
            Some(Target::SqliteFile("data/t.db".into()))
        );
        assert_eq!(
            Target::parse("postgres://u@h:5432/db?schema=t_1&sslmode=disable").ok(),
            Some(Target::Postgres {
                url: "postgres://u@h:5432/db?sslmode=disable".into(),
                schema: Some("t_1".into())
            })
        );
        assert_eq!(
            Target::parse("postgresql://u@h/db?schema=abc").ok(),
            Some(Target::Postgres {
                url: "postgresql://u@h/db".into(),
                schema: Some("abc".into())
            })
        );
        assert!(Target::parse("postgres://u@h/db?schema=a;drop").is_err());
        assert!(Target::parse("mysql://h/db").is_err());
        assert!(Target::parse("sqlite://").is_err());
    }
}
