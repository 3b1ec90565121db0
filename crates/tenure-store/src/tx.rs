//! [`Tx`], the handle a transaction closure works through, and how one attempt ends.

use crate::sql::{Conn, Row, Value};
use crate::{Backend, StoreError};

/// Whether a transaction may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Read,
    Write,
}

/// The first failed statement of a transaction.
#[derive(Debug)]
struct Failure {
    retryable: bool,
    message: String,
}

/// One open transaction, handed to the closure of [`crate::Store::write`] or
/// [`crate::Store::read`]. Its methods (one group per table, in the table modules) are the only
/// way to touch rows.
///
/// The first failed statement aborts the transaction, on SQLite as on PostgreSQL: later calls
/// return [`StoreError::Aborted`] and the transaction rolls back even if the closure returns
/// `Ok`. Methods that may legitimately find a row already present (`insert_account`,
/// `insert_message`, `schedule`) say so in their return value instead of failing.
pub struct Tx<'c> {
    conn: Conn<'c>,
    mode: Mode,
    failure: Option<Failure>,
}

impl std::fmt::Debug for Tx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tx")
            .field("backend", &self.backend())
            .field("mode", &self.mode)
            .field("failure", &self.failure)
            .finish()
    }
}

impl<'c> Tx<'c> {
    pub(crate) fn new(conn: Conn<'c>, mode: Mode) -> Self {
        Tx {
            conn,
            mode,
            failure: None,
        }
    }

    /// The database behind this transaction.
    pub fn backend(&self) -> Backend {
        self.conn.backend()
    }

    /// Fails with [`StoreError::ReadOnly`] unless this is a write transaction.
    pub(crate) fn writable(&self) -> Result<(), StoreError> {
        match self.mode {
            Mode::Write => Ok(()),
            Mode::Read => Err(StoreError::ReadOnly),
        }
    }

    /// `" FOR UPDATE"` where a read must lock the rows it returns until commit: PostgreSQL write
    /// transactions. SQLite's `BEGIN IMMEDIATE` already holds the one write lock.
    /// *Dialect difference.*
    pub(crate) fn for_update(&self) -> &'static str {
        match (self.backend(), self.mode) {
            (Backend::Postgres, Mode::Write) => " FOR UPDATE",
            _ => "",
        }
    }

    fn check(&self) -> Result<(), StoreError> {
        match &self.failure {
            None => Ok(()),
            Some(f) => Err(StoreError::Aborted(f.message.clone())),
        }
    }

    fn note<T>(&mut self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if let Err(e) = &result {
            self.failure = Some(Failure {
                retryable: e.is_retryable(),
                message: e.to_string(),
            });
        }
        result
    }

    /// Runs a statement; returns the number of rows it changed.
    pub(crate) fn exec(&mut self, sql: &str, args: &[Value<'_>]) -> Result<u64, StoreError> {
        self.check()?;
        let result = self.conn.execute(sql, args);
        self.note(result)
    }

    /// Runs a query; returns every row.
    pub(crate) fn rows(&mut self, sql: &str, args: &[Value<'_>]) -> Result<Vec<Row>, StoreError> {
        self.check()?;
        let result = self.conn.query(sql, args);
        self.note(result)
    }

    /// Runs a query expected to return at most one row.
    pub(crate) fn row(&mut self, sql: &str, args: &[Value<'_>]) -> Result<Option<Row>, StoreError> {
        let mut rows = self.rows(sql, args)?;
        if rows.len() > 1 {
            let e = Err(StoreError::Corrupt(format!(
                "expected at most one row, got {}",
                rows.len()
            )));
            return self.note(e);
        }
        Ok(rows.pop())
    }

    /// Runs a query that always returns exactly one row (an aggregate).
    pub(crate) fn one(&mut self, sql: &str, args: &[Value<'_>]) -> Result<Row, StoreError> {
        match self.row(sql, args)? {
            Some(row) => Ok(row),
            None => self.note(Err(StoreError::Corrupt(
                "expected one row, got none".to_owned(),
            ))),
        }
    }

    /// Runs parameterless statements (dialect-specific locking).
    pub(crate) fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        self.check()?;
        let result = self.conn.batch(sql);
        self.note(result)
    }

    /// Ends one attempt: commits after `Ok` from a transaction with no failed statement, rolls
    /// back otherwise. Returns the outcome and whether running the closure again may succeed.
    pub(crate) fn finish<T, E: From<StoreError>>(
        self,
        result: Result<T, E>,
    ) -> (Result<T, E>, bool) {
        match (result, self.failure) {
            (Ok(value), None) => match self.conn.commit() {
                Ok(()) => (Ok(value), false),
                Err(e) => {
                    let retryable = e.is_retryable();
                    (Err(e.into()), retryable)
                }
            },
            (Ok(_), Some(failure)) => {
                rollback(self.conn);
                (
                    Err(StoreError::Aborted(failure.message).into()),
                    failure.retryable,
                )
            }
            (Err(e), failure) => {
                rollback(self.conn);
                (Err(e), failure.is_some_and(|f| f.retryable))
            }
        }
    }
}

fn rollback(conn: Conn<'_>) {
    if let Err(e) = conn.rollback() {
        // The connection may be gone; the database rolls back an unfinished transaction anyway.
        tracing::warn!(error = %e, "rollback failed");
    }
}
