//! `due_actions`: the durable queue of every time-driven rule (TIME-4), and `due_runs`, the audit
//! of which worker ran which action.
//!
//! Two clocks meet here and are never mixed: `due_us` is on the engine's (possibly sandbox) clock;
//! leases are on the wall clock. The store reads neither: callers pass both in.

use crate::sql::{Row, Value, args};
use crate::{StoreError, Tx};

/// One queued time-driven action. `Default` is there for `..DueRow::default()` when scheduling.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DueRow {
    /// Unique key, chosen by the engine so that scheduling the same action twice is a no-op.
    pub key: String,
    /// The account the action belongs to.
    pub account_id: String,
    /// When it is due, µs since the Unix epoch on the engine's clock.
    pub due_us: i64,
    /// What to run, e.g. `plan.expire`.
    pub kind: String,
    /// Arguments, JSON text.
    pub payload: String,
    /// The worker holding the lease, if it was ever claimed.
    pub lease_owner: Option<String>,
    /// When the lease ends, µs since the Unix epoch on the wall clock.
    pub lease_until_us: Option<i64>,
    /// When it was completed (engine clock); `None` while pending.
    pub done_us: Option<i64>,
    /// How many times it has been claimed.
    pub attempts: i64,
}

impl DueRow {
    /// A new pending action, never claimed.
    pub fn new(key: &str, account_id: &str, due_us: i64, kind: &str, payload: &str) -> DueRow {
        DueRow {
            key: key.to_owned(),
            account_id: account_id.to_owned(),
            due_us,
            kind: kind.to_owned(),
            payload: payload.to_owned(),
            lease_owner: None,
            lease_until_us: None,
            done_us: None,
            attempts: 0,
        }
    }
}

/// One recorded run of a due action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueRunRow {
    /// The action's key.
    pub key: String,
    /// The worker that ran it.
    pub owner: String,
    /// When it ran (the caller's clock), µs since the Unix epoch.
    pub at_us: i64,
}

/// Totals over `due_runs`, to prove that each action ran exactly once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueRunSummary {
    /// Recorded runs.
    pub runs: i64,
    /// Distinct keys among them.
    pub distinct_keys: i64,
    /// Runs per worker, ordered by worker.
    pub by_owner: Vec<(String, i64)>,
}

pub(crate) const DUE_COLUMNS: &str =
    "key, account_id, due_us, kind, payload, lease_owner, lease_until_us, done_us, attempts";

pub(crate) fn decode_due(mut row: Row) -> Result<DueRow, StoreError> {
    Ok(DueRow {
        key: row.text()?,
        account_id: row.text()?,
        due_us: row.int()?,
        kind: row.text()?,
        payload: row.text()?,
        lease_owner: row.opt_text()?,
        lease_until_us: row.opt_int()?,
        done_us: row.opt_int()?,
        attempts: row.int()?,
    })
}

impl Tx<'_> {
    /// Queues an action; returns `false`, changing nothing, if its key is already queued (pending
    /// or done), so scheduling is idempotent. Only key, account, due time, kind and payload are
    /// taken from `row`; the action starts unclaimed.
    pub fn schedule(&mut self, row: &DueRow) -> Result<bool, StoreError> {
        self.writable()?;
        let inserted = self.exec(
            "INSERT INTO due_actions (key, account_id, due_us, kind, payload, attempts) \
             VALUES (?, ?, ?, ?, ?, 0) ON CONFLICT (key) DO NOTHING",
            args![
                &row.key,
                &row.account_id,
                row.due_us,
                &row.kind,
                &row.payload
            ],
        )?;
        Ok(inserted == 1)
    }

    /// Queues many actions with multi-row statements; keys already queued are skipped, as in
    /// [`Tx::schedule`]. Keys must be distinct within one call (PostgreSQL refuses a statement
    /// that would touch one row twice). Returns how many were queued.
    pub fn schedule_many(&mut self, rows: &[DueRow]) -> Result<u64, StoreError> {
        self.writable()?;
        let mut args = Vec::with_capacity(rows.len() * 6);
        for r in rows {
            args.extend([
                Value::Text(&r.key),
                Value::Text(&r.account_id),
                Value::Int(r.due_us),
                Value::Text(&r.kind),
                Value::Text(&r.payload),
                Value::Int(0),
            ]);
        }
        self.insert_many(
            "INSERT INTO due_actions (key, account_id, due_us, kind, payload, attempts)",
            6,
            " ON CONFLICT (key) DO NOTHING",
            &args,
        )
    }

    /// Removes a pending action; returns `false` if it is unknown or already done.
    pub fn cancel_due(&mut self, key: &str) -> Result<bool, StoreError> {
        self.writable()?;
        let deleted = self.exec(
            "DELETE FROM due_actions WHERE key = ? AND done_us IS NULL",
            args![key],
        )?;
        Ok(deleted == 1)
    }

    /// The action if it is still pending and leased by `owner`, else `None` (done meanwhile, or
    /// its lease expired and another worker claimed it). On PostgreSQL the row stays locked until
    /// commit. Run an action only after this returned it, and complete it in the same transaction.
    pub fn lock_due(&mut self, key: &str, owner: &str) -> Result<Option<DueRow>, StoreError> {
        let sql = format!(
            "SELECT {DUE_COLUMNS} FROM due_actions \
             WHERE key = ? AND done_us IS NULL AND lease_owner = ?{}",
            self.for_update()
        );
        self.row(&sql, args![key, owner])?
            .map(decode_due)
            .transpose()
    }

    /// Marks a pending action done at `done_us` (engine clock); returns `false` if it was not
    /// pending.
    pub fn complete_due(&mut self, key: &str, done_us: i64) -> Result<bool, StoreError> {
        self.writable()?;
        let updated = self.exec(
            "UPDATE due_actions SET done_us = ? WHERE key = ? AND done_us IS NULL",
            args![done_us, key],
        )?;
        Ok(updated == 1)
    }

    /// The action with this key, pending or done.
    pub fn get_due(&mut self, key: &str) -> Result<Option<DueRow>, StoreError> {
        let sql = format!("SELECT {DUE_COLUMNS} FROM due_actions WHERE key = ?");
        self.row(&sql, args![key])?.map(decode_due).transpose()
    }

    /// The earliest due time of any pending action.
    pub fn next_due_us(&mut self) -> Result<Option<i64>, StoreError> {
        self.one(
            "SELECT MIN(due_us) FROM due_actions WHERE done_us IS NULL",
            &[],
        )?
        .opt_int()
    }

    /// How many actions are pending (claimed or not).
    pub fn pending_due_count(&mut self) -> Result<i64, StoreError> {
        self.one(
            "SELECT COUNT(*) FROM due_actions WHERE done_us IS NULL",
            &[],
        )?
        .int()
    }

    /// Appends to the `due_runs` audit: `owner` ran the action `key` at `at_us`.
    pub fn record_due_run(&mut self, key: &str, owner: &str, at_us: i64) -> Result<(), StoreError> {
        self.writable()?;
        self.exec(
            "INSERT INTO due_runs (key, owner, at_us) VALUES (?, ?, ?)",
            args![key, owner, at_us],
        )?;
        Ok(())
    }

    /// Every recorded run of one action, in the order recorded.
    pub fn due_runs(&mut self, key: &str) -> Result<Vec<DueRunRow>, StoreError> {
        let mut runs = Vec::new();
        for mut row in self.rows(
            "SELECT key, owner, at_us FROM due_runs WHERE key = ? ORDER BY id",
            args![key],
        )? {
            runs.push(DueRunRow {
                key: row.text()?,
                owner: row.text()?,
                at_us: row.int()?,
            });
        }
        Ok(runs)
    }

    /// Totals over every recorded run.
    pub fn due_run_summary(&mut self) -> Result<DueRunSummary, StoreError> {
        let mut totals = self.one("SELECT COUNT(*), COUNT(DISTINCT key) FROM due_runs", &[])?;
        let (runs, distinct_keys) = (totals.int()?, totals.int()?);
        let mut by_owner = Vec::new();
        for mut row in self.rows(
            "SELECT owner, COUNT(*) FROM due_runs GROUP BY owner ORDER BY owner",
            &[],
        )? {
            by_owner.push((row.text()?, row.int()?));
        }
        Ok(DueRunSummary {
            runs,
            distinct_keys,
            by_owner,
        })
    }

    /// Leases up to `limit` pending actions due by `up_to_us` whose lease is free or ended before
    /// `now_wall_us`; see [`crate::Store::claim_due`].
    pub(crate) fn claim_due(
        &mut self,
        owner: &str,
        up_to_us: i64,
        now_wall_us: i64,
        lease_until_us: i64,
        limit: i64,
    ) -> Result<Vec<DueRow>, StoreError> {
        self.writable()?;
        // *Dialect difference:* PostgreSQL workers skip rows another worker is claiming or
        // running instead of waiting for them; SQLite has one writer at a time anyway.
        let skip_locked = match self.backend() {
            crate::Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            crate::Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE due_actions SET lease_owner = ?, lease_until_us = ?, attempts = attempts + 1 \
             WHERE key IN (SELECT key FROM due_actions \
                 WHERE done_us IS NULL AND due_us <= ? \
                   AND (lease_until_us IS NULL OR lease_until_us < ?) \
                 ORDER BY due_us, key LIMIT ?{skip_locked}) \
             RETURNING {DUE_COLUMNS}"
        );
        let rows = self.rows(
            &sql,
            args![owner, lease_until_us, up_to_us, now_wall_us, limit],
        )?;
        let mut claimed = rows
            .into_iter()
            .map(decode_due)
            .collect::<Result<Vec<_>, _>>()?;
        // RETURNING promises no order.
        claimed.sort_by(|a, b| (a.due_us, &a.key).cmp(&(b.due_us, &b.key)));
        Ok(claimed)
    }
}
