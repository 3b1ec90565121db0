//! `messages`: durable customer notices and provider events (NTF-1, NTF-2), one row per crossing.

use crate::sql::{Row, Value, args};
use crate::{StoreError, Tx, page_limit};

/// One durable message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRow {
    /// The account the message is about.
    pub account_id: String,
    /// `notice` (to the account's contacts) or `event` (a webhook to the provider); each audience
    /// has its own sequence. Any other value is refused by the table
    /// ([`StoreError::Constraint`]). A string, not an enum: the core owns the vocabulary.
    pub audience: String,
    /// The account's message sequence number for this audience, assigned by the caller.
    pub seq: i64,
    /// The message type, e.g. `plan.exhausted`.
    pub kind: String,
    /// What the message is about (a plan, a bill, …), for filtering.
    pub subject: String,
    /// When it was written, µs since the Unix epoch.
    pub at_us: i64,
    /// One crossing, one message: a second message with this key for the account and audience
    /// is not written (NTF-2).
    pub dedup_key: String,
    /// The message body, JSON text.
    pub data: String,
}

const COLUMNS: &str = "account_id, audience, seq, kind, subject, at_us, dedup_key, data";

fn decode(mut row: Row) -> Result<MessageRow, StoreError> {
    Ok(MessageRow {
        account_id: row.text()?,
        audience: row.text()?,
        seq: row.int()?,
        kind: row.text()?,
        subject: row.text()?,
        at_us: row.int()?,
        dedup_key: row.text()?,
        data: row.text()?,
    })
}

impl Tx<'_> {
    /// Writes a message; returns `false`, writing nothing, when the account already has one with
    /// this audience and dedup key. A clash on (account, audience, seq) with a different dedup key
    /// is a lost update and fails with [`StoreError::Duplicate`].
    pub fn insert_message(&mut self, row: &MessageRow) -> Result<bool, StoreError> {
        self.writable()?;
        let inserted = self.exec(
            &format!(
                "INSERT INTO messages ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (account_id, audience, dedup_key) DO NOTHING"
            ),
            args![
                &row.account_id,
                &row.audience,
                row.seq,
                &row.kind,
                &row.subject,
                row.at_us,
                &row.dedup_key,
                &row.data,
            ],
        )?;
        Ok(inserted == 1)
    }

    /// Writes many messages with multi-row statements, skipping those whose (account, audience,
    /// dedup key) exists; returns how many were written. The same rules as
    /// [`Tx::insert_message`].
    pub fn insert_messages(&mut self, rows: &[MessageRow]) -> Result<u64, StoreError> {
        self.writable()?;
        let mut args = Vec::with_capacity(rows.len() * 8);
        for r in rows {
            args.extend([
                Value::Text(&r.account_id),
                Value::Text(&r.audience),
                Value::Int(r.seq),
                Value::Text(&r.kind),
                Value::Text(&r.subject),
                Value::Int(r.at_us),
                Value::Text(&r.dedup_key),
                Value::Text(&r.data),
            ]);
        }
        self.insert_many(
            &format!("INSERT INTO messages ({COLUMNS})"),
            8,
            " ON CONFLICT (account_id, audience, dedup_key) DO NOTHING",
            &args,
        )
    }

    /// Up to `limit` messages (at most [`crate::PAGE_ROWS_MAX`], else [`StoreError::LimitTooLarge`]) of an account and audience in
    /// seq order, after `after_seq`, optionally only of one kind and/or subject.
    pub fn list_messages(
        &mut self,
        account_id: &str,
        audience: &str,
        kind: Option<&str>,
        subject: Option<&str>,
        after_seq: Option<i64>,
        limit: usize,
    ) -> Result<Vec<MessageRow>, StoreError> {
        let mut sql =
            format!("SELECT {COLUMNS} FROM messages WHERE account_id = ? AND audience = ?");
        let mut args: Vec<Value<'_>> = vec![account_id.into(), audience.into()];
        filter(&mut sql, &mut args, kind, subject);
        if let Some(after) = after_seq {
            sql.push_str(" AND seq > ?");
            args.push(after.into());
        }
        sql.push_str(" ORDER BY seq LIMIT ?");
        args.push(page_limit(limit)?.into());
        self.rows(&sql, &args)?.into_iter().map(decode).collect()
    }

    /// How many messages of an account and audience there are, optionally only of one kind
    /// and/or subject.
    pub fn count_messages(
        &mut self,
        account_id: &str,
        audience: &str,
        kind: Option<&str>,
        subject: Option<&str>,
    ) -> Result<i64, StoreError> {
        let mut sql =
            "SELECT COUNT(*) FROM messages WHERE account_id = ? AND audience = ?".to_owned();
        let mut args: Vec<Value<'_>> = vec![account_id.into(), audience.into()];
        filter(&mut sql, &mut args, kind, subject);
        self.one(&sql, &args)?.int()
    }
}

fn filter<'a>(
    sql: &mut String,
    args: &mut Vec<Value<'a>>,
    kind: Option<&'a str>,
    subject: Option<&'a str>,
) {
    if let Some(kind) = kind {
        sql.push_str(" AND kind = ?");
        args.push(kind.into());
    }
    if let Some(subject) = subject {
        sql.push_str(" AND subject = ?");
        args.push(subject.into());
    }
}
