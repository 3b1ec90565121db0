//! `usage_events`: the first outcome of every usage event, kept forever (USE-1), so a duplicate
//! (account, event id) is answered with it and changes nothing.

use crate::sql::{Row, Value};
use crate::{StoreError, Tx};

/// One usage event's first outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageEventRow {
    /// The account the event was sent for.
    pub account_id: String,
    /// The sender's event id, unique per account.
    pub event_id: String,
    /// The outcome first answered, JSON text the store never parses.
    pub outcome: String,
    /// When it was first answered, µs since the Unix epoch (engine clock).
    pub at_us: i64,
}

fn decode(mut row: Row) -> Result<UsageEventRow, StoreError> {
    Ok(UsageEventRow {
        account_id: row.text()?,
        event_id: row.text()?,
        outcome: row.text()?,
        at_us: row.int()?,
    })
}

impl Tx<'_> {
    /// The stored outcomes among `keys` (account id, event id); keys never seen are absent. Rows
    /// come back in no particular order.
    pub fn usage_events(
        &mut self,
        keys: &[(&str, &str)],
    ) -> Result<Vec<UsageEventRow>, StoreError> {
        let mut args = Vec::with_capacity(keys.len() * 2);
        for (account, event) in keys {
            args.push(Value::Text(event));
            args.push(Value::Text(account));
        }
        self.rows_in(
            "SELECT account_id, event_id, outcome, at_us FROM usage_events \
             WHERE (event_id, account_id)",
            2,
            &args,
        )?
        .into_iter()
        .map(decode)
        .collect()
    }

    /// Stores first outcomes, many rows per statement. An (account, event id) stored already
    /// fails with [`StoreError::Duplicate`] and aborts the transaction: the caller looks events
    /// up first while holding the account, so a clash is a lost update.
    pub fn insert_usage_events(&mut self, rows: &[UsageEventRow]) -> Result<(), StoreError> {
        self.writable()?;
        let mut args = Vec::with_capacity(rows.len() * 4);
        for r in rows {
            args.extend([
                Value::Text(&r.account_id),
                Value::Text(&r.event_id),
                Value::Text(&r.outcome),
                Value::Int(r.at_us),
            ]);
        }
        self.insert_many(
            "INSERT INTO usage_events (account_id, event_id, outcome, at_us)",
            4,
            "",
            &args,
        )?;
        Ok(())
    }

    /// How many usage events are stored for an account (tests and operators).
    pub fn count_usage_events(&mut self, account_id: &str) -> Result<i64, StoreError> {
        self.one(
            "SELECT COUNT(*) FROM usage_events WHERE account_id = ?",
            &[Value::Text(account_id)],
        )?
        .int()
    }
}
