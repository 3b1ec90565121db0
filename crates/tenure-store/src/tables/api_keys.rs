//! `api_keys`: operator and account API keys, stored hashed (IAM-1, IAM-5).

use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::sql::{Row, args};
use crate::{StoreError, Tx};

/// Random bytes in a new secret (256 bits).
pub const SECRET_RANDOM_BYTES: usize = 32;

/// One API key. The secret itself is never stored, only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRow {
    /// Public key id, shown in listings and audit.
    pub id: String,
    /// [`hash_key`] of the secret.
    pub hash: String,
    /// The one account the key is scoped to, or `None` for an operator key.
    pub account_id: Option<String>,
    /// Permissions, as the server spells them (e.g. space-separated `billing:read usage:write`).
    pub permissions: String,
    /// When it was created, µs since the Unix epoch.
    pub created_us: i64,
    /// When it was revoked, if it was.
    pub revoked_us: Option<i64>,
}

/// The stored form of a secret: SHA-256, lower-case hex. Secrets are 256 random bits, so a fast
/// unsalted hash is enough (there is nothing to brute-force).
pub fn hash_key(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A new secret: `prefix` followed by [`SECRET_RANDOM_BYTES`] random bytes in lower-case hex.
pub fn new_secret(prefix: &str) -> String {
    let mut bytes = [0u8; SECRET_RANDOM_BYTES];
    // ThreadRng is a cryptographically secure generator seeded from the operating system.
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

const COLUMNS: &str = "id, hash, account_id, permissions, created_us, revoked_us";

fn decode(mut row: Row) -> Result<ApiKeyRow, StoreError> {
    Ok(ApiKeyRow {
        id: row.text()?,
        hash: row.text()?,
        account_id: row.opt_text()?,
        permissions: row.text()?,
        created_us: row.int()?,
        revoked_us: row.opt_int()?,
    })
}

impl Tx<'_> {
    /// Stores a key; an existing id or hash fails with [`StoreError::Duplicate`].
    pub fn insert_api_key(&mut self, row: &ApiKeyRow) -> Result<(), StoreError> {
        self.writable()?;
        self.exec(
            &format!("INSERT INTO api_keys ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"),
            args![
                &row.id,
                &row.hash,
                row.account_id.as_deref(),
                &row.permissions,
                row.created_us,
                row.revoked_us,
            ],
        )?;
        Ok(())
    }

    /// The key with this hash, revoked or not: check `revoked_us` before trusting it.
    pub fn find_api_key_by_hash(&mut self, hash: &str) -> Result<Option<ApiKeyRow>, StoreError> {
        self.row(
            &format!("SELECT {COLUMNS} FROM api_keys WHERE hash = ?"),
            args![hash],
        )?
        .map(decode)
        .transpose()
    }

    /// Marks a key revoked at `revoked_us`; returns `false` if unknown or already revoked.
    pub fn revoke_api_key(&mut self, id: &str, revoked_us: i64) -> Result<bool, StoreError> {
        self.writable()?;
        let updated = self.exec(
            "UPDATE api_keys SET revoked_us = ? WHERE id = ? AND revoked_us IS NULL",
            args![revoked_us, id],
        )?;
        Ok(updated == 1)
    }

    /// How many keys exist, revoked ones included (zero means the operator key is still to be
    /// created).
    pub fn count_api_keys(&mut self) -> Result<i64, StoreError> {
        self.one("SELECT COUNT(*) FROM api_keys", &[])?.int()
    }
}
