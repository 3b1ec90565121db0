//! `due_actions` and `due_runs`, many actions per statement: what the scheduler needs to run a
//! claimed batch of actions with a few statements instead of a few per action. The one-action
//! methods beside them (`lock_due`, `complete_due`, `record_due_run`) keep their meaning; these
//! are the same operations over many keys.

use crate::sql::Value;
use crate::tables::due::{DUE_COLUMNS, decode_due};
use crate::tx::MULTI_ROW_CHUNKS;
use crate::{StoreError, Tx};

/// Most due actions one [`Tx::pending_due_here`] call returns.
pub const CLAIM_HERE_ROWS_MAX: usize = 10_000;

impl Tx<'_> {
    /// Up to `limit` (at most [`CLAIM_HERE_ROWS_MAX`]) pending due actions with `due_us <=
    /// up_to_us` whose lease is free or ended before `now_wall_us`, earliest due first (then by
    /// key), without leasing them: for a caller that runs and completes them in this very
    /// transaction. That is SQLite's case: its write transaction holds the one write lock from
    /// its start, so nobody else can take them before this transaction ends, and a lease (a
    /// write of every row) would buy nothing.
    pub fn pending_due_here(
        &mut self,
        up_to_us: i64,
        now_wall_us: i64,
        limit: usize,
    ) -> Result<Vec<crate::DueRow>, StoreError> {
        self.writable()?;
        if limit > CLAIM_HERE_ROWS_MAX {
            return Err(StoreError::LimitTooLarge {
                limit,
                max: CLAIM_HERE_ROWS_MAX,
            });
        }
        let sql = format!(
            "SELECT {DUE_COLUMNS} FROM due_actions \
             WHERE done_us IS NULL AND due_us <= ? \
               AND (lease_until_us IS NULL OR lease_until_us < ?) \
             ORDER BY due_us, key LIMIT ?"
        );
        self.rows(
            &sql,
            &[
                Value::Int(up_to_us),
                Value::Int(now_wall_us),
                Value::Int(limit as i64),
            ],
        )?
        .into_iter()
        .map(decode_due)
        .collect()
    }

    /// Of `keys`, those still pending and leased by `owner` (see [`Tx::lock_due`]), in no
    /// particular order. On PostgreSQL those rows stay locked until commit. Run an action only
    /// if this returned its key, and complete it in the same transaction.
    pub fn lock_due_many(&mut self, keys: &[&str], owner: &str) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::with_capacity(keys.len());
        for chunk in shaped(keys) {
            let mut args = Vec::with_capacity(chunk.len() + 1);
            args.push(Value::Text(owner));
            args.extend(chunk.iter().map(|k| Value::Text(k)));
            let sql = format!(
                "SELECT key FROM due_actions \
                 WHERE done_us IS NULL AND lease_owner = ? AND key IN ({}){}",
                marks(chunk.len()),
                self.for_update()
            );
            for mut row in self.rows(&sql, &args)? {
                out.push(row.text()?);
            }
        }
        Ok(out)
    }

    /// Marks pending actions done at `done_us` (engine clock); returns how many were pending.
    pub fn complete_due_many(&mut self, keys: &[&str], done_us: i64) -> Result<u64, StoreError> {
        self.writable()?;
        let mut updated = 0;
        for chunk in shaped(keys) {
            let mut args = Vec::with_capacity(chunk.len() + 1);
            args.push(Value::Int(done_us));
            args.extend(chunk.iter().map(|k| Value::Text(k)));
            let sql = format!(
                "UPDATE due_actions SET done_us = ? WHERE done_us IS NULL AND key IN ({})",
                marks(chunk.len())
            );
            updated += self.exec(&sql, &args)?;
        }
        Ok(updated)
    }

    /// Appends to the `due_runs` audit: `owner` ran each of `keys` at `at_us`.
    pub fn record_due_runs(
        &mut self,
        keys: &[&str],
        owner: &str,
        at_us: i64,
    ) -> Result<(), StoreError> {
        self.writable()?;
        let mut args = Vec::with_capacity(keys.len() * 3);
        for k in keys {
            args.extend([Value::Text(k), Value::Text(owner), Value::Int(at_us)]);
        }
        self.insert_many("INSERT INTO due_runs (key, owner, at_us)", 3, "", &args)?;
        Ok(())
    }

    /// Gives up `owner`'s lease on pending actions it claimed but did not run, so the next claim
    /// (by anyone) takes them at once instead of after the lease. Returns how many it released.
    pub fn release_due(&mut self, keys: &[&str], owner: &str) -> Result<u64, StoreError> {
        self.writable()?;
        let mut released = 0;
        for chunk in shaped(keys) {
            let mut args = Vec::with_capacity(chunk.len() + 1);
            args.push(Value::Text(owner));
            args.extend(chunk.iter().map(|k| Value::Text(k)));
            let sql = format!(
                "UPDATE due_actions SET lease_until_us = NULL \
                 WHERE done_us IS NULL AND lease_owner = ? AND key IN ({})",
                marks(chunk.len())
            );
            released += self.exec(&sql, &args)?;
        }
        Ok(released)
    }
}

/// Cuts `keys` greedily into chunks of the sizes in [`MULTI_ROW_CHUNKS`], so each statement comes
/// in a few shapes only and the prepared-statement caches stay warm.
fn shaped<'k, 'v>(keys: &'k [&'v str]) -> impl Iterator<Item = &'k [&'v str]> {
    let mut rest = keys;
    std::iter::from_fn(move || {
        let size = MULTI_ROW_CHUNKS.into_iter().find(|&n| n <= rest.len())?;
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        Some(chunk)
    })
}

/// `?, ?, ?` for `n` placeholders.
fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}
