//! Tenure's storage shell: tables and rows on SQLite (embedded default) or PostgreSQL, behind one
//! synchronous API that behaves the same on both.
//!
//! The engine loads an account's state, calls the pure core, and persists the decision through
//! [`Store::write`] in one transaction per account. Everything the store keeps is rows: account
//! state, journal data and message bodies are JSON text it never parses; instants are `i64`
//! microseconds since the Unix epoch (columns named `*_us`); money is decimal text.
//!
//! - *Invariant:* the store knows tables, not billing rules. It never parses JSON or decimals and
//!   never reads a clock: every instant, including the wall-clock time used for due-action leases,
//!   is passed in.
//! - *Invariant:* every query is written once, with `?` placeholders, against the small
//!   abstraction in `sql.rs`. Dialect differences are confined to the DDL files under
//!   `migrations/`, connection setup (`connect.rs`), `sql.rs`, and the places marked
//!   *Dialect difference* (row locks, `SKIP LOCKED`, the catalog table lock).
//! - *Invariant:* one transaction per call of [`Store::write`]; the first failed statement aborts
//!   it on both backends; contention (SQLite busy, PostgreSQL serialization failure or deadlock)
//!   re-runs the closure, at most [`TX_ATTEMPTS_MAX`] times.
//!
//! Tests of every crate get a fresh database from [`testing::fresh_store`], which honours
//! `TENURE_TEST_DATABASE` so one suite runs on both backends.

#![warn(missing_docs)]

mod connect;
mod error;
mod migrate;
mod sql;
mod tables;
pub mod testing;
mod tx;

use std::any::Any;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;

use connect::{PgManager, Target};
use sql::Conn;
use tx::Mode;

pub use error::StoreError;
pub use tables::accounts::AccountRow;
pub use tables::api_keys::{ApiKeyRow, SECRET_RANDOM_BYTES, hash_key, new_secret};
pub use tables::due::{DueRow, DueRunRow, DueRunSummary};
pub use tables::due_batch::CLAIM_HERE_ROWS_MAX;
pub use tables::idempotency::IdemRow;
pub use tables::journal::{EntryRow, JournalRow};
pub use tables::messages::MessageRow;
pub use tables::subscriptions::{SubscriptionCursor, SubscriptionQuery, SubscriptionRow};
pub use tables::usage_events::UsageEventRow;
pub use tx::Tx;

/// Times one transaction closure runs at most when the database reports contention.
pub const TX_ATTEMPTS_MAX: u32 = 8;

/// Base pause before re-running a transaction, multiplied by the attempt number, plus up to as
/// much again of random jitter so competing workers fall out of step.
pub const TX_RETRY_BACKOFF_MS: u64 = 5;

/// Most rows one listing call may ask for; page with the cursor to read more. A larger `limit`
/// is [`StoreError::LimitTooLarge`] rather than a silently short page, which a caller could take
/// for the whole (a ledger rebuilt from its first thousand transactions).
pub const PAGE_ROWS_MAX: usize = 1_000;

/// Most due actions one [`Store::claim_due`] call may lease.
pub const CLAIM_ROWS_MAX: usize = 1_000;

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// SQLite, embedded (a file, or memory).
    Sqlite,
    /// PostgreSQL, over a connection pool.
    Postgres,
}

/// A handle on one database. Cheap to clone; clones share the connection pool. `Send + Sync`, so
/// one store serves every thread of a process; several processes may open the same database.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    /// Something to keep alive as long as the store (a test's temporary directory or schema);
    /// declared after `pool` so the pool closes first.
    _guard: Option<Box<dyn Any + Send + Sync>>,
}

enum Pool {
    Sqlite {
        pool: r2d2::Pool<r2d2_sqlite::SqliteConnectionManager>,
        /// Queues this process's writers before SQLite's file lock: a handed-over mutex is fairer
        /// and quicker than SQLite's sleeping busy handler, which then only arbitrates between
        /// processes (or between stores opened separately on one file).
        writer: Mutex<()>,
    },
    Postgres(r2d2::Pool<PgManager>),
}

// One store serves every thread of a process.
const _: fn() = || {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Store>();
};

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if needed) the database at `url` and brings its schema up to date.
    ///
    /// Accepted: `sqlite://PATH`, `sqlite:PATH` or a bare file path; `sqlite::memory:` (a private
    /// in-memory database, one connection); `postgres://…` or `postgresql://…`, optionally with
    /// `schema=NAME` among the query parameters, which the store removes from the URL, creates if
    /// missing and sets as `search_path` on every connection. PostgreSQL connects without TLS.
    pub fn open(url: &str) -> Result<Store, StoreError> {
        Store::open_with(url, None)
    }

    /// Opens `url`; `guard` (a test's temporary directory or schema) is dropped after the last
    /// clone of the store.
    pub(crate) fn open_with(
        url: &str,
        guard: Option<Box<dyn Any + Send + Sync>>,
    ) -> Result<Store, StoreError> {
        let pool = match Target::parse(url)? {
            Target::SqliteMemory => open_sqlite_memory()?,
            Target::SqliteFile(path) => open_sqlite_file(&path)?,
            Target::Postgres { url, schema } => open_postgres(&url, schema)?,
        };
        Ok(Store {
            inner: Arc::new(Inner {
                pool,
                _guard: guard,
            }),
        })
    }

    /// Which database this store runs on.
    pub fn backend(&self) -> Backend {
        match self.inner.pool {
            Pool::Sqlite { .. } => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Runs `f` in a write transaction: commits when it returns `Ok`, rolls back when it returns
    /// `Err` or panics. SQLite starts it with `BEGIN IMMEDIATE` (it holds the write lock from the
    /// start); PostgreSQL uses READ COMMITTED, where [`Tx::get_account`] locks the account row.
    ///
    /// On contention the transaction rolls back and `f` runs again (at most [`TX_ATTEMPTS_MAX`]
    /// times in all), so `f` must not have effects outside the transaction that cannot repeat.
    ///
    /// Do not call the store from inside `f`: a nested write waits for the one it is nested in
    /// (SQLite) or for row locks it holds (PostgreSQL), forever.
    pub fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        E: From<StoreError>,
        F: FnMut(&mut Tx<'_>) -> Result<T, E>,
    {
        self.run(Mode::Write, f)
    }

    /// Runs `f` in a read-only transaction that sees one consistent snapshot (SQLite: a deferred
    /// transaction under WAL; PostgreSQL: REPEATABLE READ, READ ONLY). Writes fail with
    /// [`StoreError::ReadOnly`]. Retried like [`Store::write`].
    pub fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        E: From<StoreError>,
        F: FnMut(&mut Tx<'_>) -> Result<T, E>,
    {
        self.run(Mode::Read, f)
    }

    /// Leases, to `owner`, up to `limit` (at most [`CLAIM_ROWS_MAX`], else
    /// [`StoreError::LimitTooLarge`]) pending due actions with
    /// `due_us <= up_to_us` whose lease is free or ended before `now_wall_us`, earliest due first
    /// (then by key). Each gets `lease_until_us = now_wall_us + lease_ms × 1000` and one more
    /// attempt. Returns them in that order.
    ///
    /// `up_to_us` is on the engine's clock; `now_wall_us` and the lease are on the wall clock.
    /// Its own transaction, spanning accounts. On PostgreSQL concurrent claimers skip each
    /// other's rows (`FOR UPDATE SKIP LOCKED`) instead of waiting.
    pub fn claim_due(
        &self,
        owner: &str,
        up_to_us: i64,
        now_wall_us: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<DueRow>, StoreError> {
        let lease_until_us = now_wall_us.saturating_add(lease_ms.saturating_mul(1_000));
        let limit = checked_limit(limit, CLAIM_ROWS_MAX)?;
        self.write(|tx| tx.claim_due(owner, up_to_us, now_wall_us, lease_until_us, limit))
    }

    /// The earliest due time of any pending action.
    pub fn next_due_us(&self) -> Result<Option<i64>, StoreError> {
        self.read(|tx| tx.next_due_us())
    }

    /// How many due actions are pending.
    pub fn pending_due_count(&self) -> Result<i64, StoreError> {
        self.read(|tx| tx.pending_due_count())
    }

    // Single-call conveniences: each is one `Tx` method in a transaction of its own, for reads
    // and settings outside any account decision. Decisions go through `write`.

    /// [`Tx::list_accounts`] in a read transaction of its own.
    pub fn list_accounts(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AccountRow>, StoreError> {
        self.read(|tx| tx.list_accounts(after, limit))
    }

    /// [`Tx::journal`] in a read transaction of its own.
    pub fn journal(
        &self,
        account_id: &str,
        after_seq: Option<i64>,
        limit: usize,
    ) -> Result<Vec<JournalRow>, StoreError> {
        self.read(|tx| tx.journal(account_id, after_seq, limit))
    }

    /// [`Tx::list_messages`] in a read transaction of its own.
    pub fn list_messages(
        &self,
        account_id: &str,
        audience: &str,
        kind: Option<&str>,
        subject: Option<&str>,
        after_seq: Option<i64>,
        limit: usize,
    ) -> Result<Vec<MessageRow>, StoreError> {
        self.read(|tx| tx.list_messages(account_id, audience, kind, subject, after_seq, limit))
    }

    /// [`Tx::count_messages`] in a read transaction of its own.
    pub fn count_messages(
        &self,
        account_id: &str,
        audience: &str,
        kind: Option<&str>,
        subject: Option<&str>,
    ) -> Result<i64, StoreError> {
        self.read(|tx| tx.count_messages(account_id, audience, kind, subject))
    }

    /// [`Tx::meta_get`] in a read transaction of its own.
    pub fn meta_get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.read(|tx| tx.meta_get(key))
    }

    /// [`Tx::meta_set`] in a write transaction of its own.
    pub fn meta_set(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.write(|tx| tx.meta_set(key, value))
    }

    /// [`Tx::register_catalog`] in a write transaction of its own.
    pub fn register_catalog(
        &self,
        digest: &str,
        name: &str,
        source: &str,
        loaded_us: i64,
    ) -> Result<i64, StoreError> {
        self.write(|tx| tx.register_catalog(digest, name, source, loaded_us))
    }

    /// [`Tx::catalog_source`] in a read transaction of its own.
    pub fn catalog_source(&self, version: i64) -> Result<Option<String>, StoreError> {
        self.read(|tx| tx.catalog_source(version))
    }

    /// [`Tx::latest_catalog`] in a read transaction of its own.
    pub fn latest_catalog(&self) -> Result<Option<(i64, String)>, StoreError> {
        self.read(|tx| tx.latest_catalog())
    }

    fn run<T, E, F>(&self, mode: Mode, mut f: F) -> Result<T, E>
    where
        E: From<StoreError>,
        F: FnMut(&mut Tx<'_>) -> Result<T, E>,
    {
        let mut attempt = 1;
        loop {
            let (result, retryable) = match &self.inner.pool {
                Pool::Sqlite { pool, writer } => {
                    let _turn = match mode {
                        // A panic in another writer's closure poisons the mutex but leaves no
                        // state behind (SQLite rolled back), so the poison is ignored.
                        Mode::Write => Some(writer.lock().unwrap_or_else(|p| p.into_inner())),
                        Mode::Read => None,
                    };
                    let mut conn = pool.get().map_err(StoreError::from)?;
                    let behavior = match mode {
                        Mode::Write => rusqlite::TransactionBehavior::Immediate,
                        Mode::Read => rusqlite::TransactionBehavior::Deferred,
                    };
                    match conn.transaction_with_behavior(behavior) {
                        Ok(tx) => {
                            let mut tx = Tx::new(Conn::Sqlite(tx), mode);
                            let result = f(&mut tx);
                            tx.finish(result)
                        }
                        Err(e) => {
                            let e = StoreError::from(e);
                            let retryable = e.is_retryable();
                            (Err(e.into()), retryable)
                        }
                    }
                }
                Pool::Postgres(pool) => {
                    let mut conn = pool.get().map_err(StoreError::from)?;
                    let connect::PgConn { client, statements } = &mut *conn;
                    let begun = match mode {
                        Mode::Write => client
                            .build_transaction()
                            .isolation_level(postgres::IsolationLevel::ReadCommitted)
                            .start(),
                        Mode::Read => client
                            .build_transaction()
                            .isolation_level(postgres::IsolationLevel::RepeatableRead)
                            .read_only(true)
                            .start(),
                    };
                    match begun {
                        Ok(tx) => {
                            let mut tx = Tx::new(Conn::Postgres { tx, statements }, mode);
                            let result = f(&mut tx);
                            tx.finish(result)
                        }
                        Err(e) => {
                            let e = StoreError::from(e);
                            let retryable = e.is_retryable();
                            (Err(e.into()), retryable)
                        }
                    }
                }
            };
            match result {
                Err(_) if retryable && attempt < TX_ATTEMPTS_MAX => {
                    tracing::debug!(attempt, "transaction met contention; running it again");
                    let base_ms = TX_RETRY_BACKOFF_MS * u64::from(attempt);
                    let pause_ms = base_ms + rand::rng().random_range(0..=base_ms);
                    std::thread::sleep(Duration::from_millis(pause_ms));
                    attempt += 1;
                }
                result => return result,
            }
        }
    }
}

/// A listing `limit` as bound in SQL; over [`PAGE_ROWS_MAX`] is an error.
pub(crate) fn page_limit(limit: usize) -> Result<i64, StoreError> {
    checked_limit(limit, PAGE_ROWS_MAX)
}

fn checked_limit(limit: usize, max: usize) -> Result<i64, StoreError> {
    if limit > max {
        return Err(StoreError::LimitTooLarge { limit, max });
    }
    i64::try_from(limit).map_err(|_| StoreError::LimitTooLarge { limit, max })
}

fn pool_timeout() -> Duration {
    Duration::from_millis(connect::POOL_CHECKOUT_TIMEOUT_MS)
}

/// One private in-memory database: a pool of exactly one connection that is never recycled,
/// since closing it would drop the database.
fn open_sqlite_memory() -> Result<Pool, StoreError> {
    let manager =
        r2d2_sqlite::SqliteConnectionManager::file(":memory:").with_init(connect::sqlite_init);
    let pool = r2d2::Pool::builder()
        .max_size(1)
        .min_idle(Some(1))
        .idle_timeout(None)
        .max_lifetime(None)
        .connection_timeout(pool_timeout())
        .build(manager)?;
    let mut conn = pool.get()?;
    migrate::sqlite(&mut conn)?;
    drop(conn);
    Ok(Pool::Sqlite {
        pool,
        writer: Mutex::new(()),
    })
}

fn open_sqlite_file(path: &std::path::Path) -> Result<Pool, StoreError> {
    // Migrate on a connection of our own first, so a bad path fails at once instead of after the
    // pool's checkout timeout.
    let mut conn = rusqlite::Connection::open(path)?;
    connect::sqlite_init(&mut conn)?;
    migrate::sqlite(&mut conn)?;
    drop(conn);
    let manager = r2d2_sqlite::SqliteConnectionManager::file(path).with_init(connect::sqlite_init);
    let pool = r2d2::Pool::builder()
        .max_size(connect::SQLITE_POOL_CONNECTIONS_MAX)
        .min_idle(Some(0))
        .connection_timeout(pool_timeout())
        .build(manager)?;
    Ok(Pool::Sqlite {
        pool,
        writer: Mutex::new(()),
    })
}

fn open_postgres(url: &str, schema: Option<String>) -> Result<Pool, StoreError> {
    let manager = PgManager::new(url, schema)?;
    let mut conn = r2d2::ManageConnection::connect(&manager)?;
    migrate::postgres(&mut conn, manager.schema())?;
    drop(conn);
    let pool = r2d2::Pool::builder()
        .max_size(connect::PG_POOL_CONNECTIONS_MAX)
        .min_idle(Some(0))
        .connection_timeout(pool_timeout())
        .build(manager)?;
    Ok(Pool::Postgres(pool))
}
