//! The small SQL abstraction every query goes through: parameters ([`Value`]), result rows
//! ([`Row`]) and one open transaction on either backend ([`Conn`]).
//!
//! *Invariant:* queries are written once, with `?` placeholders. This module is one of the few
//! places that knows two backends exist: it rewrites `?` to `$1..$n` for PostgreSQL, caches
//! prepared statements per connection, and decodes both drivers' rows into the same [`Cell`]s.

use std::collections::HashMap;
use std::fmt::Write as _;

use postgres::types::{IsNull, ToSql, Type};

use crate::{Backend, StoreError};

/// Prepared statements kept per PostgreSQL connection, keyed by the `?`-form SQL. The store has a
/// few dozen distinct statements; the limit only guards against a caller building SQL in a loop.
pub(crate) const PG_STATEMENTS_CACHED_MAX: usize = 256;

/// Prepared statements kept per SQLite connection (rusqlite's default of 16 is below our count:
/// a few dozen statements, and each multi-row insert in up to five chunk shapes).
pub(crate) const SQLITE_STATEMENTS_CACHED_MAX: usize = 256;

/// One bound parameter. The store only binds 64-bit integers and text, typed even when NULL
/// because PostgreSQL checks a parameter's type against its column.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'a> {
    Int(i64),
    Text(&'a str),
    NullInt,
    NullText,
}

impl From<i64> for Value<'_> {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(v: &'a str) -> Self {
        Value::Text(v)
    }
}

impl<'a> From<&'a String> for Value<'a> {
    fn from(v: &'a String) -> Self {
        Value::Text(v)
    }
}

impl From<Option<i64>> for Value<'_> {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Value::NullInt, Value::Int)
    }
}

impl<'a> From<Option<&'a str>> for Value<'a> {
    fn from(v: Option<&'a str>) -> Self {
        v.map_or(Value::NullText, Value::Text)
    }
}

/// `args![a, b, c]` is `&[Value::from(a), Value::from(b), Value::from(c)]`.
macro_rules! args {
    ($($v:expr),* $(,)?) => {
        &[$($crate::sql::Value::from($v)),*]
    };
}
pub(crate) use args;

impl rusqlite::ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match *self {
            Value::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(v)),
            Value::Text(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Value::NullInt | Value::NullText => ToSqlOutput::Borrowed(ValueRef::Null),
        })
    }
}

type PgResult = Result<IsNull, Box<dyn std::error::Error + Sync + Send>>;

impl ToSql for Value<'_> {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> PgResult {
        match *self {
            Value::Int(v) => v.to_sql(ty, out),
            Value::Text(v) => v.to_sql(ty, out),
            Value::NullInt | Value::NullText => Ok(IsNull::Yes),
        }
    }

    /// Accepts any type here; [`ToSql::to_sql_checked`] checks the variant's own type.
    fn accepts(_ty: &Type) -> bool {
        true
    }

    fn to_sql_checked(&self, ty: &Type, out: &mut bytes::BytesMut) -> PgResult {
        match *self {
            Value::Int(v) => v.to_sql_checked(ty, out),
            Value::Text(v) => v.to_sql_checked(ty, out),
            Value::NullInt => None::<i64>.to_sql_checked(ty, out),
            Value::NullText => None::<&str>.to_sql_checked(ty, out),
        }
    }
}

/// One column value of a result row, the same on both backends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cell {
    Null,
    Int(i64),
    Text(String),
}

/// One result row, read left to right with the typed `next_*` methods.
#[derive(Debug)]
pub(crate) struct Row {
    cells: std::vec::IntoIter<Cell>,
}

impl Row {
    fn new(cells: Vec<Cell>) -> Self {
        Row {
            cells: cells.into_iter(),
        }
    }

    fn next_cell(&mut self) -> Result<Cell, StoreError> {
        self.cells
            .next()
            .ok_or_else(|| StoreError::Corrupt("row has fewer columns than read".to_owned()))
    }

    pub(crate) fn int(&mut self) -> Result<i64, StoreError> {
        match self.next_cell()? {
            Cell::Int(v) => Ok(v),
            other => Err(StoreError::Corrupt(format!(
                "expected an integer, found {other:?}"
            ))),
        }
    }

    pub(crate) fn opt_int(&mut self) -> Result<Option<i64>, StoreError> {
        match self.next_cell()? {
            Cell::Null => Ok(None),
            Cell::Int(v) => Ok(Some(v)),
            other => Err(StoreError::Corrupt(format!(
                "expected an integer, found {other:?}"
            ))),
        }
    }

    pub(crate) fn text(&mut self) -> Result<String, StoreError> {
        match self.next_cell()? {
            Cell::Text(v) => Ok(v),
            other => Err(StoreError::Corrupt(format!(
                "expected text, found {other:?}"
            ))),
        }
    }

    pub(crate) fn opt_text(&mut self) -> Result<Option<String>, StoreError> {
        match self.next_cell()? {
            Cell::Null => Ok(None),
            Cell::Text(v) => Ok(Some(v)),
            other => Err(StoreError::Corrupt(format!(
                "expected text, found {other:?}"
            ))),
        }
    }
}

/// Rewrites `?` placeholders to PostgreSQL's `$1..$n`, leaving `?` inside string literals alone.
pub(crate) fn numbered_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut in_literal = false;
    let mut n = 0;
    for c in sql.chars() {
        match c {
            '\'' => {
                // A doubled quote inside a literal toggles twice, which is right.
                in_literal = !in_literal;
                out.push(c);
            }
            '?' if !in_literal => {
                n += 1;
                let _ = write!(out, "${n}");
            }
            _ => out.push(c),
        }
    }
    out
}

/// Prepared statements of one PostgreSQL connection.
pub(crate) type PgStatements = HashMap<String, postgres::Statement>;

/// One open transaction on either backend. Dropping it without [`Conn::commit`] rolls back (both
/// drivers' transaction types do so on drop, including during a panic).
pub(crate) enum Conn<'c> {
    Sqlite(rusqlite::Transaction<'c>),
    Postgres {
        tx: postgres::Transaction<'c>,
        statements: &'c mut PgStatements,
    },
}

impl Conn<'_> {
    pub(crate) fn backend(&self) -> Backend {
        match self {
            Conn::Sqlite(_) => Backend::Sqlite,
            Conn::Postgres { .. } => Backend::Postgres,
        }
    }

    /// Runs a statement that returns no rows; returns the number of rows it changed.
    pub(crate) fn execute(&mut self, sql: &str, args: &[Value<'_>]) -> Result<u64, StoreError> {
        match self {
            Conn::Sqlite(tx) => {
                let mut stmt = tx.prepare_cached(sql)?;
                let changed = stmt.execute(rusqlite::params_from_iter(args.iter()))?;
                Ok(u64::try_from(changed).unwrap_or(u64::MAX))
            }
            Conn::Postgres { tx, statements } => {
                let stmt = pg_statement(tx, statements, sql)?;
                Ok(tx.execute(&stmt, &pg_params(args))?)
            }
        }
    }

    /// Runs a query and decodes every row.
    pub(crate) fn query(&mut self, sql: &str, args: &[Value<'_>]) -> Result<Vec<Row>, StoreError> {
        match self {
            Conn::Sqlite(tx) => {
                let mut stmt = tx.prepare_cached(sql)?;
                let columns = stmt.column_count();
                let mut rows = stmt.query(rusqlite::params_from_iter(args.iter()))?;
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    let mut cells = Vec::with_capacity(columns);
                    for i in 0..columns {
                        cells.push(sqlite_cell(row.get_ref(i)?)?);
                    }
                    out.push(Row::new(cells));
                }
                Ok(out)
            }
            Conn::Postgres { tx, statements } => {
                let stmt = pg_statement(tx, statements, sql)?;
                let rows = tx.query(&stmt, &pg_params(args))?;
                rows.iter().map(pg_row).collect()
            }
        }
    }

    /// Runs several `;`-separated statements without parameters (migrations, session setup).
    pub(crate) fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        match self {
            Conn::Sqlite(tx) => Ok(tx.execute_batch(sql)?),
            Conn::Postgres { tx, .. } => Ok(tx.batch_execute(sql)?),
        }
    }

    pub(crate) fn commit(self) -> Result<(), StoreError> {
        match self {
            Conn::Sqlite(tx) => Ok(tx.commit()?),
            Conn::Postgres { tx, .. } => Ok(tx.commit()?),
        }
    }

    pub(crate) fn rollback(self) -> Result<(), StoreError> {
        match self {
            Conn::Sqlite(tx) => Ok(tx.rollback()?),
            Conn::Postgres { tx, .. } => Ok(tx.rollback()?),
        }
    }
}

fn pg_statement(
    tx: &mut postgres::Transaction<'_>,
    statements: &mut PgStatements,
    sql: &str,
) -> Result<postgres::Statement, postgres::Error> {
    if let Some(stmt) = statements.get(sql) {
        return Ok(stmt.clone());
    }
    let stmt = tx.prepare(&numbered_placeholders(sql))?;
    if statements.len() >= PG_STATEMENTS_CACHED_MAX {
        statements.clear();
    }
    statements.insert(sql.to_owned(), stmt.clone());
    Ok(stmt)
}

fn pg_params<'v>(args: &'v [Value<'_>]) -> Vec<&'v (dyn ToSql + Sync)> {
    args.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

fn sqlite_cell(value: rusqlite::types::ValueRef<'_>) -> Result<Cell, StoreError> {
    use rusqlite::types::ValueRef;
    match value {
        ValueRef::Null => Ok(Cell::Null),
        ValueRef::Integer(v) => Ok(Cell::Int(v)),
        ValueRef::Text(bytes) => String::from_utf8(bytes.to_vec())
            .map(Cell::Text)
            .map_err(|e| StoreError::Corrupt(format!("text column is not UTF-8: {e}"))),
        ValueRef::Real(_) | ValueRef::Blob(_) => Err(StoreError::Corrupt(format!(
            "unexpected column type {}",
            value.data_type()
        ))),
    }
}

fn pg_row(row: &postgres::Row) -> Result<Row, StoreError> {
    let mut cells = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let ty = column.type_();
        let cell = if *ty == Type::INT8 {
            row.try_get::<_, Option<i64>>(i)?
                .map_or(Cell::Null, Cell::Int)
        } else if *ty == Type::INT4 {
            row.try_get::<_, Option<i32>>(i)?
                .map_or(Cell::Null, |v| Cell::Int(i64::from(v)))
        } else if *ty == Type::INT2 {
            row.try_get::<_, Option<i16>>(i)?
                .map_or(Cell::Null, |v| Cell::Int(i64::from(v)))
        } else if [Type::TEXT, Type::VARCHAR, Type::BPCHAR, Type::NAME].contains(ty) {
            row.try_get::<_, Option<String>>(i)?
                .map_or(Cell::Null, Cell::Text)
        } else {
            return Err(StoreError::Corrupt(format!(
                "unexpected column type {ty} for {}",
                column.name()
            )));
        };
        cells.push(cell);
    }
    Ok(Row::new(cells))
}

#[cfg(test)]
mod tests {
    use super::numbered_placeholders;

    #[test]
    fn placeholders_are_numbered_outside_literals() {
        assert_eq!(
            numbered_placeholders("SELECT a FROM t WHERE b = ? AND c = '?''?' AND d IN (?, ?)"),
            "SELECT a FROM t WHERE b = $1 AND c = '?''?' AND d IN ($2, $3)"
        );
    }
}
