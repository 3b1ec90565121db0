//! `idempotency`: stored responses for HTTP `Idempotency-Key` requests (Stripe semantics), written
//! in the same transaction as the effect they describe.

use crate::sql::args;
use crate::{StoreError, Tx};

/// The stored outcome of one idempotent request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdemRow {
    /// Whose key space this is (e.g. the API key id), so clients cannot collide.
    pub scope: String,
    /// The client's `Idempotency-Key`.
    pub key: String,
    /// Hash of the request, to refuse the same key reused for a different request.
    pub request_hash: String,
    /// The HTTP status that was answered.
    pub status: u16,
    /// The response body that was answered.
    pub body: String,
    /// When it was stored, µs since the Unix epoch.
    pub created_us: i64,
}

impl Tx<'_> {
    /// The stored outcome for (scope, key), if any.
    pub fn idem_get(&mut self, scope: &str, key: &str) -> Result<Option<IdemRow>, StoreError> {
        let Some(mut row) = self.row(
            "SELECT scope, key, request_hash, status, body, created_us FROM idempotency \
             WHERE scope = ? AND key = ?",
            args![scope, key],
        )?
        else {
            return Ok(None);
        };
        let scope = row.text()?;
        let key = row.text()?;
        let request_hash = row.text()?;
        let status = row.int()?;
        let status = u16::try_from(status)
            .map_err(|_| StoreError::Corrupt(format!("HTTP status {status} out of range")))?;
        Ok(Some(IdemRow {
            scope,
            key,
            request_hash,
            status,
            body: row.text()?,
            created_us: row.int()?,
        }))
    }

    /// Stores an outcome. One already stored for (scope, key) fails with
    /// [`StoreError::Duplicate`], rolling the effect back: two requests with one key raced, and the
    /// loser should retry and find the winner's answer with [`Tx::idem_get`].
    pub fn idem_put(&mut self, row: &IdemRow) -> Result<(), StoreError> {
        self.writable()?;
        self.exec(
            "INSERT INTO idempotency (scope, key, request_hash, status, body, created_us) \
             VALUES (?, ?, ?, ?, ?, ?)",
            args![
                &row.scope,
                &row.key,
                &row.request_hash,
                i64::from(row.status),
                &row.body,
                row.created_us,
            ],
        )?;
        Ok(())
    }
}
