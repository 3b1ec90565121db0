//! `subscriptions`: a projection of every subscription instance (SUB-8), one row per instance,
//! so renewal management lists instances across accounts by tab, product, status and expiry
//! without parsing account states.
//!
//! *Invariant:* the account's state is the truth. These rows are derived from it and written in
//! the same transaction as the state, by the transaction that holds the account, so after commit
//! they agree with it. The store never derives them itself.

use crate::sql::{Row, Value};
use crate::{StoreError, Tx, page_limit};

/// What `expires_us` holds for an instance without an expiry (a free edition): it sorts after
/// every dated instance, on both backends alike.
const NO_EXPIRY_US: i64 = i64::MAX;

/// One subscription instance as the renewal listing sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionRow {
    /// The account that holds the instance.
    pub account_id: String,
    /// The instance's id, unique within its account ("s1").
    pub id: String,
    /// The product id.
    pub product: String,
    /// The edition id.
    pub edition: String,
    /// The instance's status (`active`, `trial`, `released`, …).
    pub status: String,
    /// The renewal mode, i.e. the tab (`manual`, `auto`, `payg_after_expiry`, `canceled`).
    pub mode: String,
    /// The (exclusive) expiry, µs since the Unix epoch; `None` for an instance that never
    /// expires.
    pub expires_us: Option<i64>,
}

/// Where a renewal listing starts: after this row in (expiry, account, id) order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionCursor {
    /// The expiry of the last row seen (`None`: no expiry).
    pub expires_us: Option<i64>,
    /// Its account.
    pub account_id: String,
    /// Its id.
    pub id: String,
}

/// A renewal listing (SUB-8): every filter that is `Some` must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriptionQuery<'a> {
    /// Only this account's instances.
    pub account_id: Option<&'a str>,
    /// Only this renewal mode (tab).
    pub mode: Option<&'a str>,
    /// Only this product.
    pub product: Option<&'a str>,
    /// Only this status.
    pub status: Option<&'a str>,
    /// Only instances expiring at or after this instant (µs).
    pub expires_from_us: Option<i64>,
    /// Only instances expiring before this instant (µs, exclusive). Instances without an expiry
    /// are never before anything.
    pub expires_before_us: Option<i64>,
    /// Only rows after this one.
    pub after: Option<SubscriptionCursor>,
}

fn decode(mut row: Row) -> Result<SubscriptionRow, StoreError> {
    Ok(SubscriptionRow {
        account_id: row.text()?,
        id: row.text()?,
        product: row.text()?,
        edition: row.text()?,
        status: row.text()?,
        mode: row.text()?,
        expires_us: Some(row.int()?).filter(|&us| us != NO_EXPIRY_US),
    })
}

impl Tx<'_> {
    /// Writes the rows of one account's instances: inserts new ones, updates those whose
    /// projection changed and leaves the rest untouched (no write, no dead row). Call it in the
    /// transaction that writes the account's state, with that state's instances.
    pub fn upsert_subscriptions(&mut self, rows: &[SubscriptionRow]) -> Result<(), StoreError> {
        self.writable()?;
        let mut args = Vec::with_capacity(rows.len() * 7);
        for r in rows {
            args.extend([
                Value::Text(&r.account_id),
                Value::Text(&r.id),
                Value::Text(&r.product),
                Value::Text(&r.edition),
                Value::Text(&r.status),
                Value::Text(&r.mode),
                Value::Int(r.expires_us.unwrap_or(NO_EXPIRY_US)),
            ]);
        }
        // The WHERE skips rows whose projection is unchanged: most writes of an account change
        // nothing here, and an update that changes nothing would still cost a write.
        self.insert_many(
            "INSERT INTO subscriptions \
             (account_id, id, product, edition, status, mode, expires_us)",
            7,
            " ON CONFLICT (account_id, id) DO UPDATE SET \
               product = excluded.product, edition = excluded.edition, \
               status = excluded.status, mode = excluded.mode, \
               expires_us = excluded.expires_us \
             WHERE subscriptions.status <> excluded.status \
                OR subscriptions.mode <> excluded.mode \
                OR subscriptions.expires_us <> excluded.expires_us \
                OR subscriptions.edition <> excluded.edition \
                OR subscriptions.product <> excluded.product",
            &args,
        )?;
        Ok(())
    }

    /// Up to `limit` instances (at most [`crate::PAGE_ROWS_MAX`]) matching `query`, in (expiry,
    /// account, id) order, expiry first; instances without an expiry come last. Pass the last
    /// row as `query.after` to get the next page.
    pub fn list_subscriptions(
        &mut self,
        query: &SubscriptionQuery<'_>,
        limit: usize,
    ) -> Result<Vec<SubscriptionRow>, StoreError> {
        let limit = page_limit(limit)?;
        let mut sql = String::from(
            "SELECT account_id, id, product, edition, status, mode, expires_us \
             FROM subscriptions WHERE 1 = 1",
        );
        let mut args: Vec<Value<'_>> = Vec::new();
        let equal = [
            ("account_id", query.account_id),
            ("mode", query.mode),
            ("product", query.product),
            ("status", query.status),
        ];
        for (column, value) in equal {
            if let Some(v) = value {
                sql.push_str(&format!(" AND {column} = ?"));
                args.push(Value::Text(v));
            }
        }
        if let Some(from) = query.expires_from_us {
            // A range asks what expires in it: an instance that never expires never matches.
            sql.push_str(" AND expires_us >= ? AND expires_us < ?");
            args.push(Value::Int(from));
            args.push(Value::Int(NO_EXPIRY_US));
        }
        if let Some(before) = query.expires_before_us {
            sql.push_str(" AND expires_us < ?");
            args.push(Value::Int(before));
        }
        if let Some(after) = &query.after {
            // A row-value comparison: both backends use the (…, expires_us, account_id, id)
            // indexes for it as a range.
            sql.push_str(" AND (expires_us, account_id, id) > (?, ?, ?)");
            args.push(Value::Int(after.expires_us.unwrap_or(NO_EXPIRY_US)));
            args.push(Value::Text(&after.account_id));
            args.push(Value::Text(&after.id));
        }
        sql.push_str(" ORDER BY expires_us, account_id, id LIMIT ?");
        args.push(Value::Int(limit));
        self.rows(&sql, &args)?.into_iter().map(decode).collect()
    }

    /// How many instance rows are stored (tests and operators).
    pub fn count_subscriptions(&mut self) -> Result<i64, StoreError> {
        self.one("SELECT COUNT(*) FROM subscriptions", &[])?.int()
    }
}
