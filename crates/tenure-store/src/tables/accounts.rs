//! `accounts`: one row per billing account; the engine's state is opaque JSON text.

use crate::sql::{Row, args};
use crate::{StoreError, Tx, page_limit};

/// One account as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    /// The account id (primary key).
    pub id: String,
    /// When the account was created, µs since the Unix epoch.
    pub created_us: i64,
    /// The engine's account state, JSON text the store never parses.
    pub state: String,
    /// Starts at 1; every `update_account` adds one.
    pub version: i64,
}

const COLUMNS: &str = "id, created_us, state, version";

fn decode(mut row: Row) -> Result<AccountRow, StoreError> {
    Ok(AccountRow {
        id: row.text()?,
        created_us: row.int()?,
        state: row.text()?,
        version: row.int()?,
    })
}

impl Tx<'_> {
    /// The account, or `None`. In a write transaction on PostgreSQL the row stays locked
    /// (`FOR UPDATE`) until commit, so concurrent writers of one account take turns: call this
    /// first in every write transaction of an account.
    pub fn get_account(&mut self, id: &str) -> Result<Option<AccountRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM accounts WHERE id = ?{}",
            self.for_update()
        );
        self.row(&sql, args![id])?.map(decode).transpose()
    }

    /// Creates an account at version 1. Returns `false`, writing nothing, if the id exists.
    pub fn insert_account(
        &mut self,
        id: &str,
        state: &str,
        created_us: i64,
    ) -> Result<bool, StoreError> {
        self.writable()?;
        let inserted = self.exec(
            "INSERT INTO accounts (id, created_us, state, version) VALUES (?, ?, ?, 1) \
             ON CONFLICT (id) DO NOTHING",
            args![id, created_us, state],
        )?;
        Ok(inserted == 1)
    }

    /// Replaces the account's state and bumps its version; returns the new version.
    /// [`StoreError::NotFound`] if there is no such account.
    pub fn update_account(&mut self, id: &str, state: &str) -> Result<i64, StoreError> {
        self.writable()?;
        let row = self.row(
            "UPDATE accounts SET state = ?, version = version + 1 WHERE id = ? RETURNING version",
            args![state, id],
        )?;
        match row {
            Some(mut row) => row.int(),
            None => Err(StoreError::NotFound {
                what: "account",
                key: id.to_owned(),
            }),
        }
    }

    /// Replaces the account's state only if it is still at `version` (optimistic concurrency: a
    /// process that decided on a cached copy writes only if nobody wrote since). Returns the new
    /// version, or `None` if the row moved on (or does not exist); then nothing was written and
    /// the caller reloads with [`Tx::get_account`] and decides again. On PostgreSQL a concurrent
    /// writer's uncommitted update makes this wait for it, then find the version moved.
    pub fn update_account_if_version(
        &mut self,
        id: &str,
        state: &str,
        version: i64,
    ) -> Result<Option<i64>, StoreError> {
        self.writable()?;
        self.row(
            "UPDATE accounts SET state = ?, version = version + 1 \
             WHERE id = ? AND version = ? RETURNING version",
            args![state, id, version],
        )?
        .map(|mut row| row.int())
        .transpose()
    }

    /// Up to `limit` accounts (at most [`crate::PAGE_ROWS_MAX`], else [`StoreError::LimitTooLarge`]) with ids after `after`, in id
    /// (byte) order: pass the last id of one page to get the next.
    pub fn list_accounts(
        &mut self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AccountRow>, StoreError> {
        let rows = match after {
            Some(after) => self.rows(
                &format!("SELECT {COLUMNS} FROM accounts WHERE id > ? ORDER BY id LIMIT ?"),
                args![after, page_limit(limit)?],
            )?,
            None => self.rows(
                &format!("SELECT {COLUMNS} FROM accounts ORDER BY id LIMIT ?"),
                args![page_limit(limit)?],
            )?,
        };
        rows.into_iter().map(decode).collect()
    }
}
