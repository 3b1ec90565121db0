//! `journal_tx` and `journal_entries`: the double-entry ledger (ACC-2), append only.

use crate::sql::{Row, Value, args};
use crate::{StoreError, Tx, page_limit};

/// One journal transaction of an account with its entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalRow {
    /// The account the movement belongs to.
    pub account_id: String,
    /// The account's journal sequence number; the caller assigns the next one.
    pub seq: i64,
    /// When the movement happened, µs since the Unix epoch.
    pub at_us: i64,
    /// What kind of movement this is (purchase, top-up, …), for reading the ledger.
    pub kind: String,
    /// Details of the movement, JSON text.
    pub data: String,
    /// The entries, in line order. The store does not check that they sum to zero: amounts are
    /// decimals it does not parse; the core asserts it before a decision reaches the store.
    pub entries: Vec<EntryRow>,
}

/// One line of a journal transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRow {
    /// The book (ledger account) moved, e.g. `cash` or `quota:sms`.
    pub book: String,
    /// The unit of `amount`: a currency or a quota unit.
    pub unit: String,
    /// Signed exact decimal, as text.
    pub amount: String,
}

impl Tx<'_> {
    /// Appends a journal transaction and its entries. A transaction that already exists for
    /// (account, seq) fails with [`StoreError::Duplicate`]: it means a lost update, and the
    /// whole store transaction rolls back.
    pub fn append_journal(&mut self, row: &JournalRow) -> Result<(), StoreError> {
        self.writable()?;
        self.exec(
            "INSERT INTO journal_tx (account_id, seq, at_us, kind, data) VALUES (?, ?, ?, ?, ?)",
            args![&row.account_id, row.seq, row.at_us, &row.kind, &row.data],
        )?;
        for (line, entry) in (0_i64..).zip(&row.entries) {
            self.exec(
                "INSERT INTO journal_entries (account_id, seq, line, book, unit, amount) \
                 VALUES (?, ?, ?, ?, ?, ?)",
                args![
                    &row.account_id,
                    row.seq,
                    line,
                    &entry.book,
                    &entry.unit,
                    &entry.amount
                ],
            )?;
        }
        Ok(())
    }

    /// Appends many journal transactions (of one account or several) with multi-row statements;
    /// the same rules as [`Tx::append_journal`].
    pub fn append_journals(&mut self, rows: &[JournalRow]) -> Result<(), StoreError> {
        self.writable()?;
        if rows.is_empty() {
            return Ok(());
        }
        let mut args = Vec::with_capacity(rows.len() * 5);
        for r in rows {
            args.extend([
                Value::Text(&r.account_id),
                Value::Int(r.seq),
                Value::Int(r.at_us),
                Value::Text(&r.kind),
                Value::Text(&r.data),
            ]);
        }
        self.insert_many(
            "INSERT INTO journal_tx (account_id, seq, at_us, kind, data)",
            5,
            "",
            &args,
        )?;
        let mut args = Vec::with_capacity(rows.len() * 2 * 6);
        let lines: Vec<i64> = (0..rows.iter().map(|r| r.entries.len()).max().unwrap_or(0))
            .map(|l| l as i64)
            .collect();
        for r in rows {
            for (line, e) in lines.iter().zip(&r.entries) {
                args.extend([
                    Value::Text(&r.account_id),
                    Value::Int(r.seq),
                    Value::Int(*line),
                    Value::Text(&e.book),
                    Value::Text(&e.unit),
                    Value::Text(&e.amount),
                ]);
            }
        }
        self.insert_many(
            "INSERT INTO journal_entries (account_id, seq, line, book, unit, amount)",
            6,
            "",
            &args,
        )?;
        Ok(())
    }

    /// Up to `limit` journal transactions (at most [`crate::PAGE_ROWS_MAX`], else [`StoreError::LimitTooLarge`]) of an account with
    /// seq after `after_seq`, in seq order, with their entries.
    pub fn journal(
        &mut self,
        account_id: &str,
        after_seq: Option<i64>,
        limit: usize,
    ) -> Result<Vec<JournalRow>, StoreError> {
        let after = after_seq.unwrap_or(i64::MIN);
        let mut txs = Vec::new();
        for mut row in self.rows(
            "SELECT account_id, seq, at_us, kind, data FROM journal_tx \
             WHERE account_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            args![account_id, after, page_limit(limit)?],
        )? {
            txs.push(JournalRow {
                account_id: row.text()?,
                seq: row.int()?,
                at_us: row.int()?,
                kind: row.text()?,
                data: row.text()?,
                entries: Vec::new(),
            });
        }
        let (Some(first), Some(last)) = (txs.first(), txs.last()) else {
            return Ok(txs);
        };
        let (first, last) = (first.seq, last.seq);
        let entries = self.rows(
            "SELECT seq, book, unit, amount FROM journal_entries \
             WHERE account_id = ? AND seq >= ? AND seq <= ? ORDER BY seq, line",
            args![account_id, first, last],
        )?;
        let mut at = 0;
        for mut row in entries {
            let seq = row.int()?;
            while txs.get(at).is_some_and(|tx| tx.seq < seq) {
                at += 1;
            }
            match txs.get_mut(at) {
                Some(tx) if tx.seq == seq => tx.entries.push(decode_entry(row)?),
                _ => {
                    return Err(StoreError::Corrupt(format!(
                        "journal entry of {account_id} seq {seq} has no journal transaction"
                    )));
                }
            }
        }
        Ok(txs)
    }
}

fn decode_entry(mut row: Row) -> Result<EntryRow, StoreError> {
    Ok(EntryRow {
        book: row.text()?,
        unit: row.text()?,
        amount: row.text()?,
    })
}
