//! The store's one error type, with driver errors sorted into the same variants on both backends.

use postgres::error::SqlState;
use rusqlite::ErrorCode;

/// Why a store call failed.
///
/// Driver errors are classified once, here, so callers see the same variant on SQLite and on
/// PostgreSQL: a unique key clash is [`StoreError::Duplicate`] on both, lock contention is
/// [`StoreError::Contention`] on both.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database URL could not be understood.
    #[error("invalid database url: {0}")]
    BadUrl(String),
    /// A row with the same unique key exists. For the append-only tables (journal, messages'
    /// sequence, idempotency, API keys) this means a lost update or a replayed write.
    #[error("duplicate row: {0}")]
    Duplicate(String),
    /// Another constraint (foreign key, check, not null) refused the row.
    #[error("constraint violated: {0}")]
    Constraint(String),
    /// The database stayed busy (SQLite lock, PostgreSQL serialization failure or deadlock).
    /// Transactions retry on it; it reaches the caller only once the retries are used up.
    #[error("database contention: {0}")]
    Contention(String),
    /// A row the call needs does not exist.
    #[error("{what} not found: {key}")]
    NotFound {
        /// The kind of row, e.g. `"account"`.
        what: &'static str,
        /// The key that was looked up.
        key: String,
    },
    /// A listing asked for more rows than one call may return.
    #[error("limit {limit} is above the most one call returns ({max}); page with the cursor")]
    LimitTooLarge {
        /// The limit asked for.
        limit: usize,
        /// The most allowed.
        max: usize,
    },
    /// A write was attempted inside [`crate::Store::read`].
    #[error("write attempted in a read-only transaction")]
    ReadOnly,
    /// An earlier statement of this transaction failed, so it can only roll back. (PostgreSQL
    /// aborts a transaction at its first error; the store makes SQLite behave the same.)
    #[error("transaction aborted by an earlier error: {0}")]
    Aborted(String),
    /// A stored value does not have the shape the store writes (wrong type, out of range).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The embedded schema migrations could not be applied or do not match the database.
    #[error("migration: {0}")]
    Migration(String),
    /// Any other SQLite error.
    #[error("sqlite: {0}")]
    Sqlite(#[source] rusqlite::Error),
    /// Any other PostgreSQL error. (Its message includes the driver error's causes, which the
    /// driver's own message leaves out: "db error", "error connecting to server".)
    #[error("postgres: {}", with_causes(.0))]
    Postgres(postgres::Error),
    /// No pooled connection could be had in time.
    #[error("connection pool: {0}")]
    Pool(#[from] r2d2::Error),
}

impl StoreError {
    /// True when running the same transaction again may succeed (lock contention).
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Contention(_))
    }
}

/// An error's message followed by those of its causes.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        let rusqlite::Error::SqliteFailure(failure, message) = &e else {
            return StoreError::Sqlite(e);
        };
        let text = message.clone().unwrap_or_else(|| failure.to_string());
        match failure.code {
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => StoreError::Contention(text),
            ErrorCode::ConstraintViolation => match failure.extended_code {
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY => StoreError::Duplicate(text),
                _ => StoreError::Constraint(text),
            },
            _ => StoreError::Sqlite(e),
        }
    }
}

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> Self {
        let Some(db) = e.as_db_error() else {
            return StoreError::Postgres(e);
        };
        let text = match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_owned(),
        };
        let code = db.code();
        if *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED
        {
            StoreError::Contention(text)
        } else if *code == SqlState::UNIQUE_VIOLATION {
            StoreError::Duplicate(text)
        } else if *code == SqlState::FOREIGN_KEY_VIOLATION
            || *code == SqlState::CHECK_VIOLATION
            || *code == SqlState::NOT_NULL_VIOLATION
        {
            StoreError::Constraint(text)
        } else {
            StoreError::Postgres(e)
        }
    }
}
