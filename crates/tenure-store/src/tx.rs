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

    /// Inserts many rows with multi-row statements: `head` is `INSERT INTO t (c1, …, cn)`, `tail`
    /// what follows the `VALUES` list (an `ON CONFLICT` clause, or nothing), `args` the rows'
    /// values one row after another, `columns` per row. Rows go in chunks of the sizes in
    /// [`MULTI_ROW_CHUNKS`], so each table has only a few distinct statements to prepare and cache.
    /// Returns the rows inserted.
    pub(crate) fn insert_many(
        &mut self,
        head: &str,
        columns: usize,
        tail: &str,
        args: &[Value<'_>],
    ) -> Result<u64, StoreError> {
        assert!(
            columns > 0 && args.len().is_multiple_of(columns),
            "whole rows only"
        );
        let mut inserted = 0;
        for (sql_rows, chunk) in chunks(args, columns) {
            let sql = format!("{head} VALUES {}{tail}", tuples(sql_rows, columns));
            inserted += self.exec(&sql, chunk)?;
        }
        Ok(inserted)
    }

    /// Selects rows whose `key` tuple is one of many: `select` is `SELECT … FROM t WHERE (a, b)`,
    /// `args` the tuples one after another, `columns` per tuple. Chunked like
    /// [`Tx::insert_many`]; rows come back in no particular order.
    pub(crate) fn rows_in(
        &mut self,
        select: &str,
        columns: usize,
        args: &[Value<'_>],
    ) -> Result<Vec<Row>, StoreError> {
        assert!(
            columns > 0 && args.len().is_multiple_of(columns),
            "whole tuples only"
        );
        let mut out = Vec::new();
        for (tuples_n, chunk) in chunks(args, columns) {
            // *Dialect difference:* SQLite takes row values on the left of IN only with a
            // subquery on the right (VALUES is one). PostgreSQL plans `IN (VALUES …)` as a join
            // that may scan the whole table, but a list of row constructors as index probes.
            let list = tuples(tuples_n, columns);
            let sql = match self.backend() {
                Backend::Sqlite => format!("{select} IN (VALUES {list})"),
                Backend::Postgres => format!("{select} IN ({list})"),
            };
            out.extend(self.rows(&sql, chunk)?);
        }
        Ok(out)
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

/// Rows per multi-row statement, largest first. A batch is cut greedily into these sizes, so a
/// statement of one table comes in at most five shapes (the prepared-statement caches stay warm)
/// and one statement binds at most 256 × columns parameters (far below either backend's limit).
pub(crate) const MULTI_ROW_CHUNKS: [usize; 5] = [256, 64, 16, 4, 1];

/// Cuts `args` (whole rows of `columns` values) into chunks of the sizes in [`MULTI_ROW_CHUNKS`].
fn chunks<'a, 'v>(
    args: &'a [Value<'v>],
    columns: usize,
) -> impl Iterator<Item = (usize, &'a [Value<'v>])> {
    let mut rest = args;
    std::iter::from_fn(move || {
        let rows = rest.len() / columns;
        let size = MULTI_ROW_CHUNKS.into_iter().find(|&n| n <= rows)?;
        let (chunk, tail) = rest.split_at(size * columns);
        rest = tail;
        Some((size, chunk))
    })
}

/// `(?, ?), (?, ?)` for `rows` tuples of `columns` placeholders.
fn tuples(rows: usize, columns: usize) -> String {
    let one = format!("({})", vec!["?"; columns].join(", "));
    vec![one; rows].join(", ")
}

fn rollback(conn: Conn<'_>) {
    if let Err(e) = conn.rollback() {
        // The connection may be gone; the database rolls back an unfinished transaction anyway.
        tracing::warn!(error = %e, "rollback failed");
    }
}
