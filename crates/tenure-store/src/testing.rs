//! Fresh, isolated databases for tests of every crate, so one suite runs on both backends.
//!
//! With `TENURE_TEST_DATABASE` unset (or empty, or `sqlite`), each database is a new SQLite file
//! in a temporary directory. With it set to a PostgreSQL server URL (e.g.
//! `postgres://postgres@127.0.0.1:5432/test`), each database is a new schema on that server,
//! named `t_<pid>_<counter>_<random>`. A set but unreachable server is a panic, never a silent
//! fall-back to SQLite.
//!
//! These helpers panic instead of returning errors: they are for tests.

use std::sync::atomic::{AtomicU64, Ordering};

use rand::Rng;

use crate::connect::{PgManager, Target, quote_ident};
use crate::{Backend, Store, StoreError};

/// The environment variable naming the test database server.
pub const TEST_DATABASE_ENV: &str = "TENURE_TEST_DATABASE";

static DATABASES_MADE: AtomicU64 = AtomicU64::new(0);

/// A fresh database that lives as long as this value: the SQLite directory or PostgreSQL schema
/// is removed on drop. Use it to open several stores (or start processes) on one database.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    guard: Guard,
}

#[derive(Debug)]
enum Guard {
    Dir(tempfile::TempDir),
    Schema(SchemaGuard),
}

/// Drops a test schema when the test is done with it.
#[derive(Debug)]
struct SchemaGuard {
    server_url: String,
    schema: String,
}

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        let sql = format!(
            "DROP SCHEMA IF EXISTS {} CASCADE",
            quote_ident(&self.schema)
        );
        if let Err(e) = run_on_server(&self.server_url, &sql) {
            tracing::warn!(schema = self.schema, error = %e, "could not drop test schema");
        }
    }
}

impl TestDatabase {
    /// The URL to pass to [`Store::open`] (or to a child process).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Which backend the database is on.
    pub fn backend(&self) -> Backend {
        match self.guard {
            Guard::Dir(_) => Backend::Sqlite,
            Guard::Schema(_) => Backend::Postgres,
        }
    }

    /// Opens a store on this database; panics on failure.
    pub fn open(&self) -> Store {
        Store::open(&self.url)
            .unwrap_or_else(|e| panic!("cannot open test database {}: {e}", self.url))
    }

    /// Opens a store that owns the database: it is removed when the last clone of the store is
    /// dropped.
    pub fn into_store(self) -> Store {
        let TestDatabase { url, guard } = self;
        Store::open_with(&url, Some(Box::new(guard)))
            .unwrap_or_else(|e| panic!("cannot open test database {url}: {e}"))
    }

    /// The URL, giving up the clean-up: the directory or schema is left behind.
    pub fn leak_url(self) -> String {
        let TestDatabase { url, guard } = self;
        match guard {
            Guard::Dir(dir) => {
                let _kept = dir.keep();
            }
            Guard::Schema(schema) => std::mem::forget(schema),
        }
        url
    }
}

/// A new empty database on the backend under test, removed when the value is dropped.
pub fn fresh_database() -> TestDatabase {
    let server = std::env::var(TEST_DATABASE_ENV).unwrap_or_default();
    if server.is_empty() || server == "sqlite" {
        return fresh_sqlite();
    }
    if server.starts_with("postgres://") || server.starts_with("postgresql://") {
        return fresh_postgres(&server);
    }
    panic!("{TEST_DATABASE_ENV}={server}: expected a postgres:// URL, `sqlite`, or nothing");
}

/// A store on a new empty database; the database is removed when the store is dropped.
pub fn fresh_store() -> Store {
    fresh_database().into_store()
}

/// The URL of a new empty database, for tests that open several stores or start processes on one
/// database. It is not removed afterwards; prefer [`fresh_database`] where a value can be kept.
pub fn fresh_url() -> String {
    fresh_database().leak_url()
}

fn unique_name() -> String {
    let n = DATABASES_MADE.fetch_add(1, Ordering::Relaxed);
    let salt: u32 = rand::rng().random();
    format!("t_{}_{n}_{salt:08x}", std::process::id())
}

fn fresh_sqlite() -> TestDatabase {
    let dir = tempfile::Builder::new()
        .prefix("tenure-test-")
        .tempdir()
        .unwrap_or_else(|e| panic!("cannot create a temporary directory for SQLite: {e}"));
    let path = dir.path().join(format!("{}.sqlite", unique_name()));
    TestDatabase {
        url: format!("sqlite://{}", path.display()),
        guard: Guard::Dir(dir),
    }
}

fn fresh_postgres(server: &str) -> TestDatabase {
    let server_url = match Target::parse(server) {
        Ok(Target::Postgres { url, .. }) => url,
        Ok(_) => unreachable!("a postgres:// URL parses as PostgreSQL"),
        Err(e) => panic!("{TEST_DATABASE_ENV}={server}: {e}"),
    };
    let schema = unique_name();
    let created = run_on_server(
        &server_url,
        &format!("CREATE SCHEMA {}", quote_ident(&schema)),
    );
    if let Err(e) = created {
        panic!(
            "{TEST_DATABASE_ENV}={server} is set but the server is unreachable or refused to \
             create a schema: {e}"
        );
    }
    let separator = if server_url.contains('?') { '&' } else { '?' };
    TestDatabase {
        url: format!("{server_url}{separator}schema={schema}"),
        guard: Guard::Schema(SchemaGuard { server_url, schema }),
    }
}

/// Runs `sql` on a connection of its own to the server at `url`.
fn run_on_server(url: &str, sql: &str) -> Result<(), StoreError> {
    let manager = PgManager::new(url, None)?;
    let mut conn = r2d2::ManageConnection::connect(&manager)?;
    conn.client.batch_execute(sql)?;
    Ok(())
}
